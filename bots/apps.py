from django.apps import AppConfig


class BotsConfig(AppConfig):
    """The volatility-breakout bot and its backtester: a client of the books (``trading``)."""

    name = "bots"
