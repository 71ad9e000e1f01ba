"""Wiring of the ``kis`` live source (``manage.py stream_tickers --source kis``) to the database.

* ``current_plan`` decides the registrations from the clock (``derivatives_session`` on XKRX
  trading days), the front KOSPI200 future and its monthly option chain (instruments imported
  with ``import_instruments --format kis_fo_master``), the front future's last price (heard on the
  session, else its stored ticker) and the KRX stocks in use (``KIS_REALTIME["STOCK_FUNCTIONS"]``,
  dotted paths returning ``[(code, when)]``, merged most recent first);
* ``store_ticks`` writes the session's ticks into the tick store (``services.tick_insert_many``)
  and the 1-minute candles of their executions (``services.candles_1m_from_ticks``);
* ``build_source`` builds the ``KisRealtimeSource`` from ``settings.KIS_REALTIME``; the approval
  key comes from ``APPROVAL_KEY_FUNCTION`` (a dotted path, imported on first use);
* ``build_replay_source`` builds the ``kis_replay`` source of a recorded session (same parser,
  same tick sink).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from markets import services
from markets.calendars import SEOUL, krx_calendar
from markets.models import Instrument, Kind, Market, Tick, Ticker
from markets.sources.kis import planner
from markets.sources.kis.frames import FrameParser
from markets.sources.kis.recording import TickRecord
from markets.sources.kis.source import KisRealtimeSource

logger = logging.getLogger(__name__)

MONTHLY_OPTION_NAME = r"^[CP] [0-9]{6} "  # "C 202508 430.0" (weeklies are "위클리...")


def config() -> dict[str, Any]:
    return settings.KIS_REALTIME


def krx_is_trading_day(day) -> bool:
    """True when ``day`` (a date) is an XKRX session (exchange-calendars)."""
    import pandas as pd

    cal = krx_calendar()
    when = pd.Timestamp(day)
    if when < cal.first_session or when > cal.last_session:
        return False
    return bool(cal.is_session(when))


def stocks_in_use() -> list[str]:
    """KRX codes from every ``STOCK_FUNCTIONS`` provider, most recently used first (a failing
    provider is logged and skipped)."""
    latest: dict[str, datetime] = {}
    for path in config().get("STOCK_FUNCTIONS", []):
        try:
            rows = import_string(path)()
        except Exception:
            logger.exception("KIS realtime: stock provider %s failed", path)
            continue
        for code, when in rows:
            if code not in latest or when > latest[code]:
                latest[code] = when
    return sorted(latest, key=lambda code: (-latest[code].timestamp(), code))


def _front_future(today) -> Instrument | None:
    return (
        Instrument.objects.filter(
            market=Market.KRX_DERIVATIVES, kind=Kind.FUTURE, underlying="KOSPI200", active=True, expiry__gte=today
        )
        .order_by("expiry", "symbol")
        .first()
    )


def _front_chain(today) -> planner.Chain | None:
    options = Instrument.objects.filter(
        market=Market.KRX_DERIVATIVES,
        kind=Kind.OPTION,
        underlying="KOSPI200",
        active=True,
        expiry__gte=today,
        name_ko__regex=MONTHLY_OPTION_NAME,
    )
    first = options.order_by("expiry").values_list("expiry", flat=True).first()
    if first is None:
        return None
    strikes: dict[Decimal, list[str]] = {}
    for symbol, strike, right in options.filter(expiry=first, strike__isnull=False).values_list(
        "symbol", "strike", "right"
    ):
        pair = strikes.setdefault(Decimal(str(strike)), ["", ""])
        pair[0 if right == "call" else 1] = symbol
    return planner.Chain(strikes={k: (v[0], v[1]) for k, v in strikes.items()})


def current_plan(last_prices: dict[str, Decimal], *, now: datetime | None = None) -> planner.Plan:
    """The registrations wanted at ``now`` (default: the current time)."""
    now = now or timezone.now()
    session = planner.derivatives_session(now, krx_is_trading_day)
    if session == planner.CLOSED:
        return planner.plan(session=session, future=None, future_price=None, chain=None)
    today = now.astimezone(SEOUL).date()
    future = _front_future(today)
    price = None
    if future is not None:
        price = last_prices.get(future.symbol)
        if price is None:
            price = Ticker.objects.filter(instrument=future).values_list("last_price", flat=True).first()
    result = planner.plan(
        session=session,
        future=future.symbol if future else None,
        future_price=price,
        chain=_front_chain(today) if future else None,
        stocks=stocks_in_use() if session == planner.DAY else (),
        atm_strikes=int(config().get("ATM_STRIKES", 5)),
    )
    if result.overflow:
        logger.info("KIS realtime: %d stocks beyond the 41 registrations (REST polling)", len(result.overflow))
    return result


def store_ticks(ticks: list[TickRecord], *, source: str = "kis") -> int:
    """Write ticks of known KRX instruments (exchange ``krx``) in one batch and rebuild the
    1-minute candles of the minutes its executions fall in (``services.candles_1m_from_ticks``),
    in one transaction; ticks of codes without an instrument are dropped (logged). Returns the
    number of new rows."""
    ids = dict(
        Instrument.objects.filter(exchange="krx", symbol__in={t.symbol for t in ticks}).values_list("symbol", "id")
    )
    rows = [
        Tick(
            instrument_id=ids[t.symbol],
            kind=t.kind,
            session_date=t.session_date,
            sequence=t.sequence,
            exchange_time=t.exchange_time,
            received_time=t.received_time,
            price=t.price,
            size=t.size,
            side=t.side,
            bid=t.bid,
            ask=t.ask,
            bid_size=t.bid_size,
            ask_size=t.ask_size,
            source=source,
            extra=t.extra,
        )
        for t in ticks
        if t.symbol in ids
    ]
    if len(rows) < len(ticks):
        missing = sorted({t.symbol for t in ticks} - ids.keys())
        logger.warning("KIS realtime: %d ticks of unknown codes dropped: %s", len(ticks) - len(rows), missing[:10])
    with transaction.atomic():
        inserted = services.tick_insert_many(ticks=rows)
        # the minutes these executions fall in, rebuilt from every stored trade of them
        services.candles_1m_from_ticks(spans=services.trade_spans(rows))
    return inserted


def approval_key_function():
    """The configured ``APPROVAL_KEY_FUNCTION``, imported now (ImportError when it is missing)."""
    return import_string(config()["APPROVAL_KEY_FUNCTION"])


def build_source(**overrides: Any) -> KisRealtimeSource:
    """The ``kis`` source from ``settings.KIS_REALTIME``; ``overrides`` go to ``KisRealtimeSource``
    (tests pass ``connect``, ``clock``, ``sleep``...). Raises FileNotFoundError without the column
    list file (``SPEC_FILE``)."""
    cfg = config()
    spec = Path(cfg["SPEC_FILE"])
    if not spec.is_file():
        raise FileNotFoundError(f"KIS_REALTIME['SPEC_FILE'] {spec} is missing (the tr_id column lists)")
    key_function = None

    def approval_key():
        nonlocal key_function
        if key_function is None:
            key_function = approval_key_function()
        return database_sync_to_async(key_function)()

    async def plan(last_prices):
        result = await database_sync_to_async(current_plan)(last_prices)
        return result.registrations

    async def sink(ticks):
        return await database_sync_to_async(store_ticks)(ticks)

    kwargs: dict[str, Any] = {
        "url": cfg["WS_URL"],
        "approval_key": approval_key,
        "parser": FrameParser.from_spec_file(spec),
        "planner": plan,
        "tick_sink": sink,
        "batch_seconds": float(cfg.get("BATCH_SECONDS", 0.5)),
        "replan_seconds": float(cfg.get("REPLAN_SECONDS", 2)),
        "min_connect_interval": float(cfg.get("MIN_CONNECT_INTERVAL_SECONDS", 10)),
        "backoff_cap": float(cfg.get("BACKOFF_CAP_SECONDS", 60)),
    }
    kwargs.update(overrides)
    return KisRealtimeSource(**kwargs)


def build_replay_source(
    path: str | Path,
    *,
    speed: float = 1.0,
    start: datetime | None = None,
    recorded_now=None,
    loop: bool = False,
    **overrides: Any,
):
    """The ``kis_replay`` source (``markets.sources.kis.replay.KisReplaySource``) of the recorded
    session ``path``, parsed with ``KIS_REALTIME["SPEC_FILE"]``, its ticks (source ``kis_replay``)
    and 1-minute candles stored by ``store_ticks``. ``speed``, ``start`` and ``recorded_now`` (the
    demo clock: a function returning the recorded instant to show) pace it; ``overrides`` go to
    the source (``clock``, ``sleep``, ``poll_seconds``, ``tick_sink``). Raises FileNotFoundError
    without the column lists or the file, RecordingError for a file of another form, ValueError
    for a bad speed or a naive start."""
    from markets.sources.kis.frames import load_spec
    from markets.sources.kis.replay import KisReplaySource

    spec_path = Path(config()["SPEC_FILE"])
    if not spec_path.is_file():
        raise FileNotFoundError(f"KIS_REALTIME['SPEC_FILE'] {spec_path} is missing (the tr_id column lists)")
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such recording")
    spec = load_spec(spec_path)

    async def sink(ticks):
        return await database_sync_to_async(store_ticks)(ticks, source="kis_replay")

    kwargs: dict[str, Any] = {
        "path": path,
        "parser": FrameParser(spec),
        "spec": spec,
        "speed": speed,
        "start": start,
        "recorded_now": recorded_now,
        "loop": loop,
        "tick_sink": sink,
    }
    kwargs.update(overrides)
    return KisReplaySource(**kwargs)
