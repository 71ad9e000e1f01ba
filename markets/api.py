"""Read-only market data API: instruments, their candles, and tickers."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import django_filters
from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import ModelSerializer, PlainDecimalField
from markets import selectors
from markets.models import Exchange, Instrument, Interval, Market, OptionRight
from markets.payloads import TickerSerializer

MAX_CANDLES = 5000
# candle bounds: wide enough for any recorded data, narrow enough that zone and window
# arithmetic (Asia/Seoul <-> UTC, +1 day for an inclusive end) stays inside datetime
MIN_MOMENT = datetime(1900, 1, 1, tzinfo=ZoneInfo("UTC"))
MAX_MOMENT = datetime(9000, 1, 1, tzinfo=ZoneInfo("UTC"))


class InstrumentSerializer(ModelSerializer):
    # "" for everything but options: documented, so responses match the schema
    right = serializers.ChoiceField(choices=OptionRight.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Instrument
        fields = [
            "id",
            "market",
            "exchange",
            "symbol",
            "base",
            "quote",
            "segment",
            "name_ko",
            "name_en",
            "tick_size",
            "lot_size",
            "min_notional",
            "active",
            "kind",
            "underlying",
            "expiry",
            "strike",
            "right",
            "multiplier",
        ]
        read_only_fields = fields


class CandleSerializer(serializers.Serializer):
    open_time = serializers.DateTimeField()
    open = PlainDecimalField(max_digits=30, decimal_places=12)
    high = PlainDecimalField(max_digits=30, decimal_places=12)
    low = PlainDecimalField(max_digits=30, decimal_places=12)
    close = PlainDecimalField(max_digits=30, decimal_places=12)
    volume = PlainDecimalField(max_digits=36, decimal_places=12)
    quote_volume = PlainDecimalField(max_digits=36, decimal_places=12, allow_null=True)


class CandlePageSerializer(serializers.Serializer):
    """``GET /instruments/{id}/candles/``: the instrument, the interval and its candles."""

    instrument = InstrumentSerializer()
    interval = serializers.CharField()
    count = serializers.IntegerField()
    results = CandleSerializer(many=True)


class CandleQuerySerializer(serializers.Serializer):
    """Query of the candles endpoint. Dates are Asia/Seoul calendar days (``end`` inclusive);
    full ISO datetimes with an offset are taken as given."""

    interval = serializers.ChoiceField(choices=Interval.choices, default=Interval.D1)
    start = serializers.CharField(required=False)
    end = serializers.CharField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_CANDLES, default=1000)

    def _moment(self, value: str, *, end: bool) -> datetime:
        try:
            if len(value) == 10:
                day = datetime.strptime(value, "%Y-%m-%d").date()
                if end:  # an end date includes its whole day
                    day += timedelta(days=1)
                moment = datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.DISPLAY_TIME_ZONE))
            else:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            raise serializers.ValidationError("Use a date YYYY-MM-DD or an ISO 8601 datetime.") from None
        if moment.tzinfo is None:
            raise serializers.ValidationError("A datetime needs a UTC offset, e.g. 2025-06-17T09:00:00+09:00.")
        if not (MIN_MOMENT.date() < moment.date() < MAX_MOMENT.date()) or not MIN_MOMENT <= moment <= MAX_MOMENT:
            raise serializers.ValidationError(f"Must lie between {MIN_MOMENT:%Y-%m-%d} and {MAX_MOMENT:%Y-%m-%d}.")
        return moment

    def validate_start(self, value):
        return self._moment(value, end=False)

    def validate_end(self, value):
        return self._moment(value, end=True)

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": ["end must be after start."]})
        return attrs


class InstrumentFilter(django_filters.FilterSet):
    market = django_filters.ChoiceFilter(choices=Market.choices)
    exchange = django_filters.ChoiceFilter(choices=Exchange.choices)
    segment = django_filters.CharFilter()
    quote = django_filters.CharFilter()

    class Meta:
        model = Instrument
        fields = ["market", "exchange", "segment", "quote", "active", "kind", "underlying", "right", "expiry"]


class InstrumentViewSet(viewsets.ReadOnlyModelViewSet):
    """Instruments (coins on an exchange, KRX stocks). Search by symbol, base or name."""

    serializer_class = InstrumentSerializer
    permission_classes = [AllowAny]
    filterset_class = InstrumentFilter
    search_fields = ["symbol", "base", "name_ko", "name_en"]
    ordering_fields = ["symbol", "exchange"]

    def get_queryset(self):
        return selectors.instrument_search_ranked(
            qs=selectors.instrument_list(active_only=False), term=self.request.query_params.get("search", "")
        )

    @extend_schema(
        parameters=[CandleQuerySerializer],
        responses=CandlePageSerializer,
        description="OHLCV candles, ascending by open_time: the latest `limit` candles with open_time in [start, end].",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def candles(self, request, pk=None):
        instrument = get_object_or_404(Instrument, pk=pk)  # DRF's: a non-numeric id is a 404 too
        query = CandleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        candles = selectors.candle_list(
            instrument=instrument,
            interval=params["interval"],
            start=params.get("start"),
            end=params.get("end"),
            limit=params["limit"],
        )
        return Response(
            {
                "instrument": InstrumentSerializer(instrument).data,
                "interval": params["interval"],
                "count": len(candles),
                "results": CandleSerializer(candles, many=True).data,
            }
        )


class TickerQuerySerializer(serializers.Serializer):
    top = serializers.IntegerField(min_value=1, max_value=200, default=20)
    quote = serializers.CharField(default="KRW", max_length=10)


class TickerListView(APIView):
    """The latest tickers ranked by 24 h traded value (the live board's snapshot)."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[TickerQuerySerializer], responses=TickerSerializer(many=True))
    def get(self, request):
        query = TickerQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tickers = selectors.ticker_top(limit=query.validated_data["top"], quote=query.validated_data["quote"])
        return Response(TickerSerializer(tickers, many=True).data)
