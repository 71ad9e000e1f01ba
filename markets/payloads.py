"""The ticker payload: one shape for the REST API (``/api/v1/tickers/``), the live feed and the
``/ws/tickers/`` consumers, so the feed and the consumers do not import API modules.

A payload is a dict: ``id`` (instrument id), ``exchange``, ``symbol``, ``market``, ``name_ko``,
``name_en``, ``quote``, ``last_price``, ``change``, ``change_rate`` (a fraction, 0.01 = 1 %),
``volume_24h`` (base units), ``traded_value_24h`` (quote currency) as decimal strings or null,
``time`` (ISO 8601 with offset), ``source`` and ``fresh`` (the feed updated it within
``TRADING["TICKER_MAX_AGE_SECONDS"]``: a market order on it can fill now).
"""

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from core.serializers import ModelSerializer
from markets.models import Ticker


class TickerSerializer(ModelSerializer):
    """The ticker shape of the REST API and of the ``/ws/tickers/`` stream."""

    id = serializers.IntegerField(source="instrument_id")
    exchange = serializers.CharField(source="instrument.exchange")
    symbol = serializers.CharField(source="instrument.symbol")
    market = serializers.CharField(source="instrument.market")
    name_ko = serializers.CharField(source="instrument.name_ko")
    name_en = serializers.CharField(source="instrument.name_en")
    quote = serializers.CharField(source="instrument.quote")
    fresh = serializers.SerializerMethodField()

    def get_fresh(self, obj) -> bool:
        """Whether the feed updated this price within ``TRADING["TICKER_MAX_AGE_SECONDS"]``."""
        age = timedelta(seconds=settings.TRADING["TICKER_MAX_AGE_SECONDS"])
        return obj.updated_at is not None and timezone.now() - obj.updated_at <= age

    class Meta:
        model = Ticker
        fields = [
            "id",
            "exchange",
            "symbol",
            "market",
            "name_ko",
            "name_en",
            "quote",
            "last_price",
            "change",
            "change_rate",
            "volume_24h",
            "traded_value_24h",
            "time",
            "source",
            "fresh",
        ]
        read_only_fields = fields


def ticker_payloads(tickers: Iterable[Ticker]) -> list[dict]:
    """Tickers (with ``instrument`` joined) as payload dicts, in the given order."""
    return [dict(row) for row in TickerSerializer(tickers, many=True).data]
