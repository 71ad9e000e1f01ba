"""Read-only market data API: instruments, their candles, and tickers."""

from datetime import datetime

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import ModelSerializer, PlainDecimalField
from core.timeparse import MAX_MOMENT, MIN_MOMENT, TimeParseError, parse_moment
from markets import selectors
from markets.clock import demo_clock
from markets.models import Exchange, Instrument, Interval, Market, OptionRight
from markets.payloads import TickerSerializer

MAX_CANDLES = 5000
# candle bounds: wide enough for any recorded data, narrow enough that zone and window
# arithmetic (Asia/Seoul <-> UTC, +1 day for an inclusive end) stays inside datetime


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
            "market_cap",
            "listed_shares",
            "market_cap_date",
        ]
        read_only_fields = fields


class TopQuerySerializer(serializers.Serializer):
    """Query of ``GET /instruments/top/``: ``market`` KOSPI|KOSDAQ|KONEX (KOSDAQ includes KOSDAQ
    GLOBAL), ``by`` market_cap, ``limit`` 1..100."""

    market = serializers.ChoiceField(choices=list(selectors.KRX_MARKET_BOARDS))
    by = serializers.ChoiceField(choices=list(selectors.TOP_ORDERINGS), default="market_cap")
    limit = serializers.IntegerField(min_value=1, max_value=100, default=25)


class TopInstrumentSerializer(InstrumentSerializer):
    rank = serializers.IntegerField(help_text="1 = the largest")

    class Meta(InstrumentSerializer.Meta):
        fields = ["rank", *InstrumentSerializer.Meta.fields]
        read_only_fields = fields


class TopPageSerializer(serializers.Serializer):
    """``GET /instruments/top/``: the market, the ordering and the ranked instruments."""

    market = serializers.CharField()
    by = serializers.CharField()
    boards = serializers.ListField(child=serializers.CharField(), help_text="segments the market covers")
    count = serializers.IntegerField()
    results = TopInstrumentSerializer(many=True)


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
    intervals = serializers.ListField(
        child=serializers.CharField(), help_text="intervals with candles of this instrument: what a chart offers"
    )
    now = serializers.DateTimeField(
        allow_null=True, help_text="the demo clock's instant the candles stop at (null: live, no cut)"
    )
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
            return parse_moment(value, end_of_day=end, lower=MIN_MOMENT, upper=MAX_MOMENT)
        except TimeParseError as exc:
            raise serializers.ValidationError(str(exc)) from None

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
        parameters=[TopQuerySerializer],
        responses=TopPageSerializer,
        description="The largest listed KRX stocks of a market by market cap (KRW, as of each row's "
        "market_cap_date), largest first. 400 naming the field for an unknown market, order or limit.",
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def top(self, request):
        query = TopQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = list(selectors.instrument_top(market=params["market"], by=params["by"], limit=params["limit"]))
        return Response(
            {
                "market": params["market"],
                "by": params["by"],
                "boards": list(selectors.KRX_MARKET_BOARDS[params["market"]]),
                "count": len(rows),
                "results": [
                    {"rank": rank, **row}
                    for rank, row in enumerate(InstrumentSerializer(rows, many=True).data, start=1)
                ],
            }
        )

    @extend_schema(
        parameters=[CandleQuerySerializer],
        responses=CandlePageSerializer,
        description="OHLCV candles, ascending by open_time: the latest `limit` candles with open_time in [start, end]. "
        "In the demo (a replay clock) none opens after the clock's instant (`now`) and the last one is the forming "
        "candle as the replay walked it so far. `intervals` lists the intervals with candles.",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def candles(self, request, pk=None):
        instrument = get_object_or_404(Instrument, pk=pk)  # DRF's: a non-numeric id is a 404 too
        query = CandleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        clock = demo_clock()
        now = clock.now(timezone.now()) if clock is not None else None
        if now is None:
            candles = selectors.candle_list(
                instrument=instrument,
                interval=params["interval"],
                start=params.get("start"),
                end=params.get("end"),
                limit=params["limit"],
            )
        else:  # the demo: nothing after the clock, the forming candle as the replay walked it
            candles = selectors.candle_list_at(
                instrument=instrument,
                interval=params["interval"],
                now=now,
                start=params.get("start"),
                end=params.get("end"),
                limit=params["limit"],
            )
        return Response(
            {
                "instrument": InstrumentSerializer(instrument).data,
                "interval": params["interval"],
                "intervals": selectors.candle_intervals(instrument=instrument, now=now),
                "now": now,
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


class ClockSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["replay", "live"])
    now = serializers.CharField(help_text="the market's present, ISO 8601 with offset (UTC)")
    now_kst = serializers.CharField(required=False, help_text="the same instant in Asia/Seoul")
    start = serializers.CharField(required=False, help_text="the recorded window's start")
    end = serializers.CharField(required=False, help_text="where the replay restarts at start")
    speed = serializers.FloatField(required=False, help_text="recorded seconds per wall second")
    wall_start = serializers.CharField(required=False, help_text="wall time at which the replay was at start")
    run = serializers.IntegerField(required=False, help_text="passes completed (0 = the first pass)")
    label = serializers.CharField(required=False)  # type: ignore[assignment]  # a field named like Field.label
    label_ko = serializers.CharField(required=False)


class ClockView(APIView):
    """The demo's market clock: in a replay, the recorded instant every replay shows now, its
    window and speed (the header's "Replay of 2025-05-26 09:00 KST, 60x"); ``{"mode": "live"}``
    with the wall time otherwise."""

    permission_classes = [AllowAny]

    @extend_schema(responses=ClockSerializer)
    def get(self, request):
        from markets.clock import clock_payload

        return Response(clock_payload())


# -- freshness ------------------------------------------------------------------------------------


class JobStatusSerializer(serializers.Serializer):
    job = serializers.CharField()
    venue = serializers.CharField()
    state = serializers.SerializerMethodField()
    last_started_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_failure_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    last_duration_ms = serializers.IntegerField(allow_null=True)
    rows_written = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    runs = serializers.IntegerField()
    failures = serializers.IntegerField()
    consecutive_failures = serializers.IntegerField()

    def get_state(self, obj) -> str:
        """``ok`` (the last run succeeded), ``failing`` (it failed) or ``never`` (no run finished)."""
        if obj.last_success_at is None and obj.last_failure_at is None:
            return "never"
        if obj.last_failure_at is not None and (
            obj.last_success_at is None or obj.last_failure_at > obj.last_success_at
        ):
            return "failing"
        return "ok"


class BreakerSerializer(serializers.Serializer):
    host = serializers.CharField()
    state = serializers.ChoiceField(choices=["closed", "open", "half_open"])
    failures = serializers.IntegerField(help_text="consecutive network failures")
    retry_at = serializers.DateTimeField(allow_null=True, help_text="when an open breaker lets the next probe through")
    changed_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()


class StalestSerializer(serializers.Serializer):
    interval = serializers.CharField()
    instrument_id = serializers.IntegerField()
    exchange = serializers.CharField()
    symbol = serializers.CharField()
    last_open_time = serializers.DateTimeField()
    age_seconds = serializers.IntegerField()


class StatusSerializer(serializers.Serializer):
    time = serializers.DateTimeField()
    jobs = JobStatusSerializer(many=True)
    breakers = BreakerSerializer(many=True)
    stalest = StalestSerializer(
        many=True, help_text="per candle interval, the instrument with the oldest newest candle"
    )


class StatusView(APIView):
    """Freshness of the market data: per job and venue the last success, the last failure and
    its reason, rows written; each exchange host's circuit breaker; the stalest instrument per
    candle interval. Times are ISO 8601 with their zone."""

    permission_classes = [AllowAny]

    @extend_schema(responses=StatusSerializer)
    def get(self, request):

        now = timezone.now()
        payload = {
            "time": now,
            "jobs": list(selectors.job_status_list()),
            "breakers": selectors.breaker_list(),
            "stalest": selectors.stalest_per_interval(now=now),
        }
        return Response(StatusSerializer(payload).data)
