"""Market data reads."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Max, Min, OuterRef, Q, QuerySet, Subquery, Value, When

from markets import exchanges
from markets.models import Candle, Exchange, Instrument, JobStatus, Market, Tick, Ticker
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


STREAM_QUOTES = exchanges.stream_quotes()
"""The quote currency a venue's live stream subscribes by default (the venue registry)."""


def stream_symbols(*, exchange: str, limit: int = 100) -> list[str]:
    """Unified symbols a live stream of ``exchange`` subscribes when none are given: its active
    stored instruments in the venue's main quote (``STREAM_QUOTES``), the most traded (24 h
    traded value of their ticker) first, then by symbol; at most ``limit``."""
    return list(
        Instrument.objects.filter(exchange=exchange, active=True, quote=STREAM_QUOTES.get(exchange, "KRW"))
        .order_by(F("ticker__traded_value_24h").desc(nulls_last=True), "symbol")
        .values_list("symbol", flat=True)[:limit]
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

KNOWN_HOSTS = exchanges.breaker_hosts()
"""The venue hosts the periodic jobs call (one breaker each), listed even before a failure
(the venue registry)."""


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


# -- ticks ------------------------------------------------------------------------------------


def tick_list(
    *,
    instrument_id: int | None = None,
    kind: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    after: tuple[datetime, int] | None = None,
) -> QuerySet[Tick]:
    """Ticks with ``exchange_time`` in ``[start, end)``, ascending by (exchange_time, id), with
    their instrument; ``after`` = (exchange_time, id) of the last tick already read (keyset
    cursor: the ticks strictly after it)."""
    qs = Tick.objects.select_related("instrument")
    if instrument_id is not None:
        qs = qs.filter(instrument_id=instrument_id)
    if kind:
        qs = qs.filter(kind=kind)
    if start is not None:
        qs = qs.filter(exchange_time__gte=start)
    if end is not None:
        qs = qs.filter(exchange_time__lt=end)
    if after is not None:
        moment, pk = after
        qs = qs.filter(Q(exchange_time__gt=moment) | Q(exchange_time=moment, pk__gt=pk))
    return qs.order_by("exchange_time", "id")


def tick_stats(*, session_date: date) -> list[dict]:
    """Per instrument, the ticks of KRX session ``session_date``: ``[{instrument_id, exchange,
    symbol, name_ko, rows, trades, quotes, first_time, last_time}]`` (times UTC), by
    symbol."""
    rows = (
        Tick.objects.filter(session_date=session_date)
        .values("instrument_id", "instrument__exchange", "instrument__symbol", "instrument__name_ko")
        .annotate(
            rows=Count("id"),
            trades=Count("id", filter=Q(kind="trade")),
            quotes=Count("id", filter=Q(kind="quote")),
            first_time=Min("exchange_time"),
            last_time=Max("exchange_time"),
        )
        .order_by("instrument__symbol", "instrument__exchange")
    )
    return [
        {
            "instrument_id": row["instrument_id"],
            "exchange": row["instrument__exchange"],
            "symbol": row["instrument__symbol"],
            "name_ko": row["instrument__name_ko"],
            "rows": row["rows"],
            "trades": row["trades"],
            "quotes": row["quotes"],
            "first_time": row["first_time"],
            "last_time": row["last_time"],
        }
        for row in rows
    ]


def tick_latest_session() -> date | None:
    """The latest KRX session date with any tick stored, or None."""
    return Tick.objects.aggregate(latest=Max("session_date"))["latest"]


# -- the derivatives page -----------------------------------------------------------------------

MONTHLY_OPTION_NAME = r"^[CP] [0-9]{6} "  # "C 202508 430.0" (weeklies are "위클리...")
# the execution record's fields the option chain shows (H0IOCNT0 / H0EUCNT0 column names)
OPTION_FIELDS = {
    "change": "optn_prdy_vrss",
    "volume": "acml_vol",
    "open_interest": "hts_otst_stpl_qty",
    "delta": "delta",
    "gamma": "gama",
    "vega": "vega",
    "theta": "theta",
    "iv": "hts_ints_vltl",
}
NIGHT_PLACEHOLDERS = ("delta", "gamma", "vega", "theta")
"""Sensitivities KIS does not compute in the night session: its night executions (``H0EUCNT0``)
carry delta +1/-1 in the money and 0 out of it, gamma, vega and the theoretical price 0 (all 463
recorded night executions of ../shared/data/kis, whose price = intrinsic + time value on every
row, so the columns are read right): placeholders, not greeks. The board shows none for them."""


def _decimal(text) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def latest_ticks(*, instrument_ids: Iterable[int], kind: str, until: datetime | None = None) -> dict[int, Tick]:
    """``{instrument_id: its latest tick of kind}`` (by exchange time, then sequence), among the
    ticks received at or before ``until`` when given (a replay's instant); two queries."""
    ids = list(instrument_ids)
    if not ids:
        return {}
    newest = Tick.objects.filter(instrument_id=OuterRef("pk"), kind=kind)
    if until is not None:
        newest = newest.filter(received_time__lte=until)
    newest = newest.order_by("-exchange_time", "-sequence")
    pks = Instrument.objects.filter(pk__in=ids).annotate(tick=Subquery(newest.values("pk")[:1])).values_list("tick")
    return {t.instrument_id: t for t in Tick.objects.filter(pk__in=[pk for (pk,) in pks if pk is not None])}


def derivatives_board(*, today: date, atm_strikes: int = 5, until: datetime | None = None) -> dict:
    """The KOSPI200 front future and its monthly option chain at the money +/- ``atm_strikes``
    strikes, as the tick store last heard them.

    The day the board is of: the latest KRX session with derivatives ticks (the recorded
    sessions in the demo), else ``today``; the front future: the nearest KOSPI200 future expiring
    on or after it; the chain: the nearest monthly option expiry on or after it. ATM: the front
    future's last price rounded to 2.5 points (``planner.atm_strike``). Returns ``{"day", "future"
    (Instrument or None), "trade" / "quote" (its latest Tick or None), "ticker" (its Ticker or
    None), "atm" (Decimal or None), "expiry", "rows": [{"strike", "atm", "call", "put"}]}`` where
    call/put are ``{"instrument", "tick", "last", "change", "volume", "open_interest", "delta",
    "gamma", "vega", "theta", "iv", "time", "earlier", "night"}`` (Decimals from the latest
    execution's fields, None where the frame did not carry one or, for a night-session execution
    (``night``), the greeks KIS does not compute at night (``NIGHT_PLACEHOLDERS``); ``earlier``:
    that execution is of a session before ``day``) or None when the strike has no such option. ``until`` (the demo's KIS replay
    instant, aware): only ticks received by then count, so the board stands where the replay does."""
    from markets.sources.kis.planner import NIGHT, atm_strike, derivatives_session

    heard = Tick.objects.filter(instrument__market=Market.KRX_DERIVATIVES)
    if until is not None:
        heard = heard.filter(received_time__lte=until)
    day = heard.aggregate(latest=Max("session_date"))["latest"] or today
    derivatives = Instrument.objects.filter(market=Market.KRX_DERIVATIVES, underlying="KOSPI200", expiry__gte=day)
    future = derivatives.filter(kind="future").order_by("expiry", "symbol").first()
    board: dict[str, Any] = {"day": day, "future": future, "trade": None, "quote": None, "ticker": None}
    board.update({"atm": None, "expiry": None, "rows": []})
    if future is None:
        return board
    board["trade"] = latest_ticks(instrument_ids=[future.pk], kind="trade", until=until).get(future.pk)
    board["quote"] = latest_ticks(instrument_ids=[future.pk], kind="quote", until=until).get(future.pk)
    board["ticker"] = Ticker.objects.filter(instrument=future).first()
    price = board["trade"].price if board["trade"] else (board["ticker"].last_price if board["ticker"] else None)
    options = derivatives.filter(kind="option", name_ko__regex=MONTHLY_OPTION_NAME, strike__isnull=False)
    expiry = options.order_by("expiry").values_list("expiry", flat=True).first()
    if price is None or expiry is None:
        return board
    atm = atm_strike(Decimal(price))
    low, high = atm - Decimal("2.5") * atm_strikes, atm + Decimal("2.5") * atm_strikes
    chain = list(options.filter(expiry=expiry, strike__gte=low, strike__lte=high).order_by("strike", "right"))
    trades = latest_ticks(instrument_ids=[o.pk for o in chain], kind="trade", until=until)
    by_strike: dict[Decimal, dict[str, Any]] = {}
    for option in chain:
        strike = Decimal(str(option.strike)).normalize()  # strike__isnull=False above
        row = by_strike.setdefault(strike, {"strike": strike, "atm": strike == atm, "call": None, "put": None})
        tick = trades.get(option.pk)
        extra = tick.extra if tick else {}
        cell: dict[str, Any] = {"instrument": option, "tick": tick, "last": tick.price if tick else None}
        cell["time"] = tick.exchange_time if tick else None
        cell["earlier"] = tick is not None and tick.session_date < day  # heard in an earlier session
        cell.update({name: _decimal(extra[key]) if key in extra else None for name, key in OPTION_FIELDS.items()})
        cell["night"] = tick is not None and derivatives_session(tick.exchange_time, lambda _day: True) == NIGHT
        if cell["night"]:
            cell.update(dict.fromkeys(NIGHT_PLACEHOLDERS))
        row[option.right or "call"] = cell
    board.update({"atm": atm, "expiry": expiry, "rows": [by_strike[k] for k in sorted(by_strike)]})
    return board
