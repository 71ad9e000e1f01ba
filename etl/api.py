"""``GET /api/v1/taker-volume/``: per-minute, hourly or daily taker buy/sell volume.

Every bad parameter is a 400 naming it (the project's one error shape); nothing is clamped.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import InvalidOperation
from types import SimpleNamespace

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core import timeparse
from etl import pairs as pair_registry
from etl.metrics import WINDOWS, plain
from etl.selectors import taker_volume_rows

MAX_LIMIT = 100_000
DECIMAL_FIELDS = (
    "taker_buy_volume",
    "taker_sell_volume",
    "taker_total_volume",
    "taker_buy_value",
    "taker_sell_value",
    "taker_total_value",
    "taker_buy_ratio",
    "taker_sell_ratio",
    "taker_buy_sell_ratio",
)
CSV_FIELDS = ("datetime", "timestamp", *DECIMAL_FIELDS[:6], "trade_count", *DECIMAL_FIELDS[6:], "is_complete")
# trades exist from 2009; the upper bound keeps hour and day window arithmetic inside datetime
MIN_MOMENT = datetime(2009, 1, 1, tzinfo=UTC)
MAX_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)


def parse_moment(text: str) -> datetime:
    """Unix seconds (``1680652800``, ``1680652800.5``), an ISO 8601 datetime (UTC when it has no
    offset), or a bare date (an Asia/Seoul day, as everywhere: ``core.timeparse``) -> tz-aware
    UTC datetime; ``ValueError`` otherwise."""
    return timeparse.parse_moment(text, unix=True, naive_utc=True, lower=MIN_MOMENT, upper=MAX_MOMENT)


@extend_schema_field(OpenApiTypes.STR)
class MomentField(serializers.Field):
    """Unix seconds or ISO-8601 (``parse_moment``)."""

    def to_internal_value(self, data):
        try:
            return parse_moment(str(data))
        except (ValueError, OverflowError, OSError, InvalidOperation) as exc:
            raise serializers.ValidationError(str(exc)) from None


class TakerVolumeQuerySerializer(serializers.Serializer):
    """Query parameters. ``from`` is inclusive and ``to`` exclusive, on the window start."""

    exchange = serializers.CharField(help_text="binance, bybit, bitmex, bithumb or all_exchange")
    symbol = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="the exchange's symbol (BTCUSDT, XBTUSD, BTC_KRW); its BTC pair when empty",
    )
    window = serializers.ChoiceField(choices=WINDOWS, default="min")
    from_ = MomentField(required=False, source="start", help_text="unix seconds or ISO-8601, inclusive")
    to = MomentField(required=False, source="end", help_text="unix seconds or ISO-8601, exclusive")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=100)
    format = serializers.ChoiceField(choices=("json", "csv"), default="json")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # "from" is a Python keyword
        return fields

    def validate(self, attrs):
        exchange, symbol = attrs["exchange"].strip().lower(), attrs.get("symbol") or None
        try:
            if exchange == pair_registry.ALL_EXCHANGE:
                attrs["pairs"] = pair_registry.usd_perpetuals(symbol)
            else:
                attrs["pairs"] = [pair_registry.get_pair(exchange, symbol)]
        except pair_registry.UnknownPair as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from None
        attrs["exchange"] = exchange
        if attrs.get("start") and attrs.get("end") and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"to": ["to must be after from."]})
        return attrs


class IgnoreFormatParameter(DefaultContentNegotiation):
    """``format`` is this endpoint's own parameter (json or csv), validated with the others,
    not DRF's renderer switch (which would answer an unknown value with a 404): renderers are
    chosen from the Accept header only."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class TakerVolumeRowSerializer(serializers.Serializer):
    datetime = serializers.CharField(help_text="window start, ISO-8601 UTC")
    timestamp = serializers.IntegerField(help_text="window start, unix seconds")
    taker_buy_volume = serializers.CharField(help_text="base asset (BTC)")
    taker_sell_volume = serializers.CharField()
    taker_total_volume = serializers.CharField()
    taker_buy_value = serializers.CharField(help_text="quote currency (USD-equivalent for all_exchange)")
    taker_sell_value = serializers.CharField()
    taker_total_value = serializers.CharField()
    trade_count = serializers.IntegerField()
    taker_buy_ratio = serializers.CharField(allow_null=True)
    taker_sell_ratio = serializers.CharField(allow_null=True)
    taker_buy_sell_ratio = serializers.CharField(allow_null=True)
    is_complete = serializers.BooleanField()
    exchanges = serializers.ListField(child=serializers.CharField(), required=False)


def _output(row: dict, *, all_exchange: bool) -> dict:
    out = {key: row[key] for key in ("datetime", "timestamp", "trade_count", "is_complete")}
    for key in DECIMAL_FIELDS:
        out[key] = plain(row[key])
    if all_exchange:
        out["exchanges"] = row["sources"]
    return {key: out[key] for key in (*CSV_FIELDS, *(("exchanges",) if all_exchange else ()))}


class TakerVolumePageSerializer(serializers.Serializer):
    """The JSON answer of ``GET /api/v1/taker-volume/`` (documentation only)."""

    exchange = serializers.CharField()
    symbol = serializers.CharField()
    window = serializers.CharField(help_text="min | hour | day")
    base = serializers.CharField(help_text="the volume unit, e.g. BTC")
    quote = serializers.CharField(help_text="the value unit: USDT, USD, KRW")
    # "from" is a Python keyword: declared below
    to = serializers.CharField(allow_null=True, help_text="the query's exclusive end, ISO-8601 UTC, or null")
    count = serializers.IntegerField()
    results = TakerVolumeRowSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(allow_null=True, help_text="the query's start, ISO-8601 UTC, or null")
        return fields


class TakerVolumeView(APIView):
    """Taker buy/sell volume per minute, hour or day (UTC), newest first.

    Volumes are in the base asset (BTC; inverse contracts converted), values in the quote
    currency (USDT, USD, KRW). ``all_exchange`` sums the USD and USDT perpetuals (USDT at par)
    and lists the pairs that contributed to each row. Ratios are null when their denominator
    is zero. A window row is complete only when all its minutes were seen whole.
    """

    permission_classes = [AllowAny]
    content_negotiation_class = IgnoreFormatParameter

    @extend_schema(
        parameters=[
            TakerVolumeQuerySerializer,
            OpenApiParameter(
                "from",
                OpenApiTypes.STR,
                description="unix seconds, ISO 8601 (UTC without offset), or a date (a Seoul day), inclusive",
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.STR,
                description="unix seconds, ISO 8601 (UTC without offset), or a date (a Seoul day), exclusive",
            ),
        ],
        responses=TakerVolumePageSerializer,
    )
    def get(self, request):
        query = TakerVolumeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        all_exchange = params["exchange"] == pair_registry.ALL_EXCHANGE
        rows = taker_volume_rows(
            pairs=params["pairs"],
            window=params["window"],
            start=params.get("start"),
            end=params.get("end"),
            limit=params["limit"],
        )
        results = [_output(row, all_exchange=all_exchange) for row in rows]
        pairs = params["pairs"]
        symbol = pairs[0].symbol if not all_exchange else (params.get("symbol") or "BTC").upper()
        if params["format"] == "csv":
            return self._csv(
                results, exchange=params["exchange"], symbol=symbol, window=params["window"], all_exchange=all_exchange
            )
        return Response(
            {
                "exchange": params["exchange"] if all_exchange else pairs[0].api_exchange,
                "symbol": symbol,
                "window": params["window"],
                "base": pairs[0].base,
                "quote": "USD" if all_exchange else pairs[0].quote,
                "from": _iso(params.get("start")),
                "to": _iso(params.get("end")),
                "count": len(results),
                "results": results,
            }
        )

    @staticmethod
    def _csv(results, *, exchange, symbol, window, all_exchange) -> HttpResponse:
        buffer = io.StringIO()
        columns = [*CSV_FIELDS, *(("exchanges",) if all_exchange else ())]
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in results:
            values = dict(row)
            values["is_complete"] = "true" if row["is_complete"] else "false"
            if all_exchange:
                values["exchanges"] = " ".join(row["exchanges"])
            writer.writerow(["" if values[c] is None else values[c] for c in columns])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="taker_volume_{exchange}_{symbol}_{window}.csv"'
        return response


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None
