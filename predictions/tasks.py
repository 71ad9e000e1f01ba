"""Celery tasks of the predictions app: each translates its arguments and calls one service."""

from datetime import date

from celery import shared_task

from markets.jobs import tracked
from predictions import services


@shared_task(name="predictions.daily_predictions")
@tracked("predictions: daily KRX predictions")
def daily_predictions(day: str | None = None) -> dict:
    """After the KRX close (beat, see migration 0002): update candles and store every active
    predictor's predictions. ``day``: "YYYY-MM-DD", default today in Asia/Seoul. Nothing here
    talks to the network, so nothing is retried."""
    summary = services.daily_predictions_run(day=date.fromisoformat(day) if day else None)
    return summary
