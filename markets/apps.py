from django.apps import AppConfig


class MarketsConfig(AppConfig):
    name = "markets"

    def ready(self) -> None:
        # the KIS client (pure, no Django) takes its settings and shared cache from here
        from django.conf import settings
        from django.core.cache import cache

        from markets.sources.kis import auth as kis_auth

        kis_auth.configure(lambda: (kis_auth.KisConfig.from_mapping(settings.KIS), cache))
