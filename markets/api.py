"""Read-only market data API: instruments, their candles, tickers, ticks and freshness."""

import base64
import binascii
import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import django_filters
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from core.filters import MAX_ID
from core.serializers import ModelSerializer, PlainDecimalField
from core.timeparse import MAX_MOMENT, MIN_MOMENT, SEOUL, TimeParseError, parse_moment
from markets import selectors
from markets.clock import demo_clock
from markets.models import Exchange, Instrument, Interval, Market, OptionRight, TickKind
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


# -- ticks ----------------------------------------------------------------------------------------

MAX_TICKS_PAGE = 1000
TICK_CSV_COLUMNS = (
    "id",
    "exchange",
    "symbol",
    "kind",
    "session_date",
    "sequence",
    "exchange_time",
    "received_time",
    "price",
    "size",
    "side",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "source",
    "tr_id",
    "extra",
)
CSV_CHUNK = 2000


@extend_schema_field(OpenApiTypes.STR)
class SeoulMomentField(serializers.Field):
    """A date ``YYYY-MM-DD`` (an Asia/Seoul day: its start, or with ``end=True`` the start of the
    next day, so an end date includes its whole day) or an ISO 8601 datetime with its offset
    (``core.timeparse``)."""

    def __init__(self, *, end: bool = False, **kwargs):
        self.end = end
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return parse_moment(str(data), end_of_day=self.end, lower=MIN_MOMENT, upper=MAX_MOMENT)
        except TimeParseError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value.isoformat()


def encode_tick_cursor(moment: datetime, pk: int) -> str:
    """The opaque cursor after the tick (``exchange_time``, ``id``): urlsafe base64 text."""
    return base64.urlsafe_b64encode(f"{moment.astimezone(UTC).isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_tick_cursor(text: str) -> tuple[datetime, int]:
    """The inverse of ``encode_tick_cursor``; ValueError for anything it did not make."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        moment_text, pk_text = raw.split("|")
        moment = datetime.fromisoformat(moment_text)
        pk = int(pk_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValueError("not a cursor of this endpoint") from None
    if moment.tzinfo is None or not 1 <= pk <= MAX_ID or not MIN_MOMENT <= moment <= MAX_MOMENT:
        raise ValueError("not a cursor of this endpoint")
    return moment, pk


class TickQuerySerializer(serializers.Serializer):
    """Query of ``GET /ticks/``. ``from`` inclusive, ``to`` exclusive (a date ``to`` includes its
    whole Asia/Seoul day)."""

    instrument = serializers.CharField(
        required=False, max_length=100, help_text="an instrument id, or exchange:symbol (krx:101W09), or a symbol"
    )
    kind = serializers.ChoiceField(choices=TickKind.choices, required=False, help_text="trade | quote")
    from_ = SeoulMomentField(required=False, source="start", help_text="YYYY-MM-DD (KST day) or ISO 8601 with offset")
    to = SeoulMomentField(
        end=True, required=False, source="end", help_text="YYYY-MM-DD (KST day, inclusive) or ISO 8601 with offset"
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_TICKS_PAGE, default=100, help_text="ticks per JSON page (CSV: every matching tick)"
    )
    cursor = serializers.CharField(required=False, max_length=200, help_text="the `next` cursor of the previous page")
    format = serializers.ChoiceField(choices=("json", "csv"), default="json")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # "from" is a Python keyword
        return fields

    def validate_instrument(self, value: str) -> Instrument:
        key = value.strip()
        if key.isdigit() and 1 <= int(key) <= MAX_ID:
            instrument = Instrument.objects.filter(pk=int(key)).first()
        else:
            instrument = selectors.instrument_get_by_key(key=key)
        if instrument is None:
            raise serializers.ValidationError(f"No instrument {key!r} (an id, exchange:symbol or symbol).")
        return instrument

    def validate_cursor(self, value: str) -> tuple[datetime, int]:
        try:
            return decode_tick_cursor(value)
        except ValueError:
            raise serializers.ValidationError("Not a cursor of this endpoint: use the `next` link as given.") from None

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"to": ["to must be after from."]})
        return attrs


class TickSerializer(serializers.Serializer):
    """One execution (kind trade) or best bid/ask (kind quote); times ISO 8601 in Asia/Seoul."""

    id = serializers.IntegerField()
    instrument = serializers.IntegerField(source="instrument_id")
    exchange = serializers.CharField(source="instrument.exchange")
    symbol = serializers.CharField(source="instrument.symbol")
    kind = serializers.ChoiceField(choices=TickKind.choices)
    session_date = serializers.DateField(help_text="KRX session date (a night session keeps its start date)")
    sequence = serializers.IntegerField(help_text="the record's number within its session and kind")
    exchange_time = serializers.DateTimeField(default_timezone=SEOUL, help_text="the exchange's stamp, KST")
    received_time = serializers.DateTimeField(default_timezone=SEOUL, help_text="when the feed received it, KST")
    price = PlainDecimalField(max_digits=30, decimal_places=12, allow_null=True, help_text="index points or KRW")
    size = PlainDecimalField(max_digits=36, decimal_places=12, allow_null=True, help_text="contracts or shares")
    side = serializers.CharField(help_text="aggressor buy | sell, '' when the frame gives none")
    bid = PlainDecimalField(max_digits=30, decimal_places=12, allow_null=True)
    ask = PlainDecimalField(max_digits=30, decimal_places=12, allow_null=True)
    bid_size = PlainDecimalField(max_digits=36, decimal_places=12, allow_null=True)
    ask_size = PlainDecimalField(max_digits=36, decimal_places=12, allow_null=True)
    source = serializers.CharField(help_text="kis, kis_recording, kis_replay")  # type: ignore[assignment]  # the tick's field, not DRF's Field.source
    extra = serializers.DictField(child=serializers.CharField(), help_text="the record's other fields as text")


class TickPageSerializer(serializers.Serializer):
    """``GET /ticks/`` (JSON): a page of ticks, ascending by exchange time, and the next page's link."""

    next = serializers.URLField(allow_null=True, help_text="the next page, null on the last")
    count = serializers.IntegerField(help_text="ticks on this page")
    results = TickSerializer(many=True)


class OwnFormatParameter(DefaultContentNegotiation):
    """``format`` is the endpoint's own parameter (json | csv), validated with the others, not
    DRF's renderer switch (which answers an unknown value with a 404)."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)  # type: ignore[assignment]


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, datetime):
        return value.astimezone(SEOUL).isoformat()
    return str(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


class TickListView(APIView):
    """Stored ticks (executions and best bid/ask) of the KIS feed and recordings, ascending by
    exchange time then id. JSON pages follow ``next`` (a keyset cursor, stable while ticks arrive);
    ``format=csv`` downloads every matching tick (times ISO 8601 with +09:00). Every bad parameter
    is a 400 naming it."""

    permission_classes = [AllowAny]
    content_negotiation_class = OwnFormatParameter

    @extend_schema(
        parameters=[TickQuerySerializer],
        responses={
            (200, "application/json"): TickPageSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request):
        # an empty parameter is an absent one (``?instrument=&kind=trade``), as for limit/offset elsewhere
        query = TickQuerySerializer(data={k: v for k, v in request.query_params.items() if v != ""})
        query.is_valid(raise_exception=True)
        params = query.validated_data
        instrument = params.get("instrument")
        filters = {
            "instrument_id": instrument.pk if instrument else None,
            "kind": params.get("kind"),
            "start": params.get("start"),
            "end": params.get("end"),
        }
        if params["format"] == "csv":
            return self._csv(filters, after=params.get("cursor"), instrument=instrument)
        ticks = list(selectors.tick_list(**filters, after=params.get("cursor"))[: params["limit"] + 1])
        more = len(ticks) > params["limit"]
        ticks = ticks[: params["limit"]]
        next_url = None
        if more:
            last = ticks[-1]
            next_url = replace_query_param(
                request.build_absolute_uri(), "cursor", encode_tick_cursor(last.exchange_time, last.pk)
            )
        return Response({"next": next_url, "count": len(ticks), "results": TickSerializer(ticks, many=True).data})

    @staticmethod
    def _csv(filters: dict, *, after, instrument) -> StreamingHttpResponse:
        writer = csv.writer(_Echo(), lineterminator="\n")

        def rows():
            yield writer.writerow(TICK_CSV_COLUMNS)
            cursor = after
            while True:  # keyset chunks: memory stays flat however many ticks match
                chunk = list(selectors.tick_list(**filters, after=cursor)[:CSV_CHUNK])
                for tick in chunk:
                    extra = dict(tick.extra)
                    tr_id = extra.pop("tr_id", "")
                    yield writer.writerow(
                        [
                            tick.pk,
                            tick.instrument.exchange,
                            tick.instrument.symbol,
                            tick.kind,
                            tick.session_date.isoformat(),
                            tick.sequence,
                            *(_csv_value(getattr(tick, c)) for c in TICK_CSV_COLUMNS[6:16]),
                            tr_id,
                            json.dumps(extra, ensure_ascii=False, sort_keys=True),
                        ]
                    )
                if len(chunk) < CSV_CHUNK:
                    return
                cursor = (chunk[-1].exchange_time, chunk[-1].pk)

        name = f"ticks_{instrument.symbol if instrument else 'all'}.csv".replace("/", "-")
        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class TickStatsQuerySerializer(serializers.Serializer):
    date = serializers.DateField(
        required=False, help_text="KRX session date YYYY-MM-DD (default: the latest session stored)"
    )


class TickStatsRowSerializer(serializers.Serializer):
    instrument = serializers.IntegerField(source="instrument_id")
    exchange = serializers.CharField()
    symbol = serializers.CharField()
    name_ko = serializers.CharField()
    rows = serializers.IntegerField(help_text="ticks stored")
    trades = serializers.IntegerField()
    quotes = serializers.IntegerField()
    first_time = serializers.DateTimeField(default_timezone=SEOUL, help_text="first exchange time, KST")
    last_time = serializers.DateTimeField(default_timezone=SEOUL, help_text="last exchange time, KST")


class TickStatsSerializer(serializers.Serializer):
    date = serializers.DateField(allow_null=True, help_text="the session date, null when no tick is stored")
    count = serializers.IntegerField(help_text="instruments")
    rows = serializers.IntegerField(help_text="ticks of the session")
    results = TickStatsRowSerializer(many=True)


class TickStatsView(APIView):
    """Per instrument, the ticks stored for one KRX session date: rows (trades, quotes), first and
    last exchange time (KST). 400 naming ``date`` when it is not a date."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[TickStatsQuerySerializer], responses=TickStatsSerializer)
    def get(self, request):
        query = TickStatsQuerySerializer(data={k: v for k, v in request.query_params.items() if v != ""})
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("date") or selectors.tick_latest_session()
        results = selectors.tick_stats(session_date=day) if day else []
        payload = {"date": day, "count": len(results), "rows": sum(r["rows"] for r in results), "results": results}
        return Response(TickStatsSerializer(payload).data)
