"""Market data reads."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, F, IntegerField, Max, Q, QuerySet, Value, When

from markets.models import Candle, Exchange, Instrument, JobStatus, Market, Ticker
from markets.sources.base import INTERVAL_SECONDS, INTERVALS, Bar
from markets.sources.replay import walk_points


def instrument_list(*, active_only: bool = True) -> QuerySet[Instrument]:
    qs = Instrument.objects.all()
    return qs.filter(active=True) if active_only else qs


def instrument_get_by_key(*, key: str) -> Instrument | None:
    """Resolve ``"exchange:symbol"`` (``upbit:BTC/KRW``, ``krx:005930``,
    ``binanceusdm:BTC/USDT:USDT``) or a bare symbol (``BTC/KRW``).

    A bare symbol listed on several exchanges resolves to the one whose ticker traded the most
    value; returns None when nothing matches.
    """
    exchange, sep, rest = key.partition(":")
    if sep and exchange in Exchange.values:
        qs = Instrument.objects.filter(exchange=exchange, symbol=rest)
    else:
        qs = Instrument.objects.filter(symbol=key)
    return qs.order_by(F("ticker__traded_value_24h").desc(nulls_last=True), "pk").first()


def instrument_search_ranked(*, qs: QuerySet[Instrument], term: str) -> QuerySet[Instrument]:
    """Order ``qs`` so that a search term's best matches come first: the exact symbol, then the
    exact base or name, then symbols starting with it; within a rank the most traded first."""
    term = term.strip()
    if not term:
        return qs.order_by("exchange", "symbol")
    rank = Case(
        When(symbol__iexact=term, then=Value(0)),
        When(Q(base__iexact=term) | Q(name_ko__iexact=term) | Q(name_en__iexact=term), then=Value(1)),
        When(symbol__istartswith=term, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return qs.annotate(search_rank=rank).order_by(
        "search_rank", F("ticker__traded_value_24h").desc(nulls_last=True), "exchange", "symbol"
    )


def candle_list(
    *,
    instrument: Instrument,
    interval: str,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[Candle]:
    """The latest ``limit`` candles of ``instrument`` at ``interval`` with open_time in
    ``[start, end)``, ascending by open_time."""
    qs = Candle.objects.filter(instrument=instrument, interval=interval)
    if start is not None:
        qs = qs.filter(open_time__gte=start)
    if end is not None:
        qs = qs.filter(open_time__lt=end)
    latest = list(qs.order_by("-open_time")[:limit])
    latest.reverse()
    return latest


def candle_intervals(*, instrument: Instrument, now: datetime | None = None) -> list[str]:
    """The intervals with stored candles of ``instrument`` (opened at or before ``now`` when
    given), finest first: what its chart offers."""
    qs = Candle.objects.filter(instrument=instrument)
    if now is not None:
        qs = qs.filter(open_time__lte=now)
    stored = set(qs.values_list("interval", flat=True).distinct())
    return [i for i in INTERVALS if i in stored]


def candle_list_at(
    *,
    instrument: Instrument,
    interval: str,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[Candle]:
    """``candle_list`` as the market stands at ``now`` (the demo clock's instant): the candles
    closed by ``now``, then the forming one built from the points the replay walked through its
    finest stored candles up to ``now`` (``markets.sources.replay.walk_points``; only for an
    instrument whose ticker comes from the replay). Nothing opened after ``now`` is returned."""
    span = timedelta(seconds=INTERVAL_SECONDS[interval])
    until = now if end is None else min(end, now)
    rows = candle_list(
        instrument=instrument, interval=interval, start=start, end=until + timedelta(microseconds=1), limit=limit
    )
    closed = [c for c in rows if c.open_time + span <= now]
    forming = rows[-1] if rows and rows[-1].open_time + span > now else None
    ticker = Ticker.objects.filter(instrument=instrument).only("source").first()
    if forming is None or ticker is None or ticker.source != "replay":
        return closed
    finer = [i for i in candle_intervals(instrument=instrument, now=now) if INTERVAL_SECONDS[i] <= span.total_seconds()]
    points: list[tuple[datetime, Decimal]] = []
    volume = Decimal(0)
    for base in finer:  # the finest stored interval the replay walks
        base_span = timedelta(seconds=INTERVAL_SECONDS[base])
        bars = Candle.objects.filter(
            instrument=instrument, interval=base, open_time__gte=forming.open_time, open_time__lte=now
        ).order_by("open_time")
        for c in bars:
            bar = Bar(c.open_time, c.open, c.high, c.low, c.close, c.volume)
            points += [(t, p) for t, p in walk_points(bar, base, instrument.exchange) if t <= now]
            if c.open_time + base_span <= now:
                volume += c.volume
        if points:
            break
    if not points:
        return closed
    prices = [p for _, p in points]
    partial = Candle(
        instrument=instrument,
        interval=interval,
        open_time=forming.open_time,
        open=prices[0],
        high=max(prices),
        low=min(prices),
        close=prices[-1],
        volume=volume,
        quote_volume=None,
    )
    return [*closed, partial][-limit:]


def ticker_top(*, limit: int = 20, quote: str = "KRW") -> QuerySet[Ticker]:
    """Tickers quoted in ``quote`` ranked by 24 h traded value (the board); values in
    different currencies are not comparable, so one board has one quote currency. KRX
    derivatives (quoted KRW, traded value of contracts) are not on it: they have their own page.
    Coins whose recording has no traded value (the demo's Upbit 15-min replay) come after the
    ranked ones; stocks without one are left off (the KRX daily replay: the stock tables show them)."""
    return (
        Ticker.objects.select_related("instrument")
        .filter(instrument__active=True, instrument__quote=quote)
        .filter(Q(traded_value_24h__isnull=False) | Q(instrument__market=Market.CRYPTO))
        .exclude(instrument__market=Market.KRX_DERIVATIVES)
        .order_by(F("traded_value_24h").desc(nulls_last=True), "instrument_id")[:limit]
    )


def ticker_for_instruments(*, instrument_ids) -> QuerySet[Ticker]:
    return Ticker.objects.select_related("instrument").filter(instrument_id__in=list(instrument_ids))


# A KRX market and the boards (``Instrument.segment``) it covers: KOSDAQ includes its KOSDAQ
# GLOBAL segment (KRX counts those stocks in KOSDAQ), KONEX is a market of its own.
KRX_MARKET_BOARDS: dict[str, tuple[str, ...]] = {
    "KOSPI": ("KOSPI",),
    "KOSDAQ": ("KOSDAQ", "KOSDAQ GLOBAL"),
    "KONEX": ("KONEX",),
}
TOP_ORDERINGS = {"market_cap": "market_cap"}


def instrument_top(*, market: str, by: str = "market_cap", limit: int = 25) -> QuerySet[Instrument]:
    """The ``limit`` largest listed (active) KRX stocks of ``market`` (a key of
    ``KRX_MARKET_BOARDS``) by ``by`` (``market_cap``, KRW), largest first; ties by code.
    Stocks without a market cap are left out. Raises ``KeyError`` on an unknown market or order."""
    field = TOP_ORDERINGS[by]
    return Instrument.objects.filter(
        market=Market.KRX,
        exchange=Exchange.KRX,
        active=True,
        segment__in=KRX_MARKET_BOARDS[market],
        **{f"{field}__isnull": False},
    ).order_by(F(field).desc(), "symbol")[:limit]


# -- freshness: /api/v1/status/ -----------------------------------------------------------------

KNOWN_HOSTS = ("upbit", "bithumb", "binanceusdm", "bybit", "bitmex")
"""The venue hosts the periodic jobs call (one breaker each), listed even before a failure."""


def job_status_list() -> QuerySet[JobStatus]:
    return JobStatus.objects.order_by("job", "venue")


def breaker_list() -> list[dict]:
    """Every known host's breaker: ``host``, ``state`` (closed/open/half_open), ``failures``
    (consecutive), ``retry_at``/``changed_at`` (aware UTC datetimes or None), ``last_error``."""
    from markets.breakers import breaker_states
    from markets.sources.retry import BreakerState

    states = breaker_states()
    out = []
    for host in sorted(set(KNOWN_HOSTS) | set(states)):
        s = states.get(host) or BreakerState()
        out.append(
            {
                "host": host,
                "state": s.state,
                "failures": s.failures,
                "retry_at": _from_epoch(s.retry_at) if s.state != "closed" else None,
                "changed_at": _from_epoch(s.changed_at),
                "last_error": s.last_error,
            }
        )
    return out


def _from_epoch(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def stalest_per_interval(*, now: datetime) -> list[dict]:
    """Per candle interval, the active instrument whose newest stored candle is the oldest:
    ``interval``, ``instrument_id``, ``exchange``, ``symbol``, ``last_open_time``, ``age_seconds``."""
    out = []
    intervals = Candle.objects.order_by().values_list("interval", flat=True).distinct()
    for interval in sorted(set(intervals)):
        row = (
            Candle.objects.filter(interval=interval, instrument__active=True)
            .values("instrument_id", "instrument__exchange", "instrument__symbol")
            .annotate(last=Max("open_time"))
            .order_by("last", "instrument_id")
            .first()
        )
        if row is None:
            continue
        out.append(
            {
                "interval": interval,
                "instrument_id": row["instrument_id"],
                "exchange": row["instrument__exchange"],
                "symbol": row["instrument__symbol"],
                "last_open_time": row["last"],
                "age_seconds": int((now - row["last"]).total_seconds()),
            }
        )
    return out
