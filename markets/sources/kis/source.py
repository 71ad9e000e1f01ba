"""The ``kis`` live source: the KIS realtime WebSocket as a ``MarketSource`` (pure Python, no Django).

Records of the session's data frames become:

* ``TickRecord`` (``recording.TickRecord``): every execution (``*CNT0``: price, size, aggressor
  side for stocks from ``CCLD_DVSN`` 1 buy / 5 sell, none for derivatives) and best bid/ask
  (``*ASP0``: level 1); handed to ``tick_sink`` in batches;
* ``TickerSnapshot`` (exchange ``krx``): the latest execution of each code per batch, yielded by
  ``stream_tickers``. Stocks: last ``STCK_PRPR`` KRW, change ``PRDY_VRSS`` (signed), rate
  ``PRDY_CTRT`` / 100, volume ``ACML_VOL`` shares, value ``ACML_TR_PBMN`` KRW. Futures/options:
  index points, ``acml_tr_pbmn`` is in thousands of KRW on the wire and is given here in KRW
  (x 1,000).

Times: the exchange stamp is ``bsop_hour`` (``STCK_CNTG_HOUR``) in KST on the receive date (stocks:
``BSOP_DATE``), moved by a day when that lands more than 12 h from the receive time (midnight in the
night session); the session date of a night record after midnight is the day before. ``sequence``
is a per-process strictly increasing number seeded with the receive time in microseconds, so it
stays unique per (instrument, kind, session date) across restarts. Zero-price or zero-size
executions (KIS sends them around auctions) are skipped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..base import Bar, InstrumentInfo, MarketSource, TickerSnapshot
from .frames import Frame, FrameParser
from .planner import Registration
from .recording import KST, TickRecord
from .ws import KisSession

logger = logging.getLogger(__name__)

THOUSAND = Decimal(1000)
# tr_id -> (code, time, price, change, rate, size, volume, value, value multiplier)
_TRADE = {
    "H0STCNT0": (
        "MKSC_SHRN_ISCD",
        "STCK_CNTG_HOUR",
        "STCK_PRPR",
        "PRDY_VRSS",
        "PRDY_CTRT",
        "CNTG_VOL",
        "ACML_VOL",
        "ACML_TR_PBMN",
        Decimal(1),
    ),
    **dict.fromkeys(
        ("H0IFCNT0", "H0MFCNT0"),
        ("futs_shrn_iscd", "bsop_hour", "futs_prpr", "futs_prdy_vrss", "futs_prdy_ctrt", "last_cnqn")
        + ("acml_vol", "acml_tr_pbmn", THOUSAND),
    ),
    **dict.fromkeys(
        ("H0IOCNT0", "H0EUCNT0"),
        ("optn_shrn_iscd", "bsop_hour", "optn_prpr", "optn_prdy_vrss", "prdy_ctrt", "last_cnqn")
        + ("acml_vol", "acml_tr_pbmn", THOUSAND),
    ),
}
# tr_id -> (code, time, ask1, bid1, ask size 1, bid size 1)
_QUOTE = {
    "H0STASP0": ("MKSC_SHRN_ISCD", "BSOP_HOUR", "ASKP1", "BIDP1", "ASKP_RSQN1", "BIDP_RSQN1"),
    **dict.fromkeys(
        ("H0IFASP0", "H0MFASP0"),
        ("futs_shrn_iscd", "bsop_hour", "futs_askp1", "futs_bidp1", "askp_rsqn1", "bidp_rsqn1"),
    ),
    **dict.fromkeys(
        ("H0IOASP0", "H0EUASP0"),
        ("optn_shrn_iscd", "bsop_hour", "optn_askp1", "optn_bidp1", "askp_rsqn1", "bidp_rsqn1"),
    ),
}
_SIDE = {"1": "buy", "5": "sell"}  # H0STCNT0 CCLD_DVSN (체결구분)


def _dec(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() else None


def _exchange_time(hhmmss: str, received: datetime, day: date | None) -> datetime | None:
    if len(hhmmss) != 6 or not hhmmss.isdigit():
        return None
    try:
        clock = dtime(int(hhmmss[:2]), int(hhmmss[2:4]), int(hhmmss[4:]))
    except ValueError:
        return None
    local = received.astimezone(KST)
    stamp = datetime.combine(day or local.date(), clock, KST)
    if day is None:
        if stamp - local > timedelta(hours=12):
            stamp -= timedelta(days=1)
        elif local - stamp > timedelta(hours=12):
            stamp += timedelta(days=1)
    return stamp.astimezone(UTC)


def _session_date(exchange_time: datetime, tr_id: str) -> date:
    local = exchange_time.astimezone(KST)
    if tr_id.startswith(("H0MF", "H0EU")) and local.hour < 6:
        return local.date() - timedelta(days=1)
    return local.date()


class Sequencer:
    """Strictly increasing integers seeded with epoch microseconds (unique across restarts)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0

    def __call__(self) -> int:
        self._last = max(self._last + 1, int(self._clock() * 1_000_000))
        return self._last


def frame_ticks(
    frame: Frame,
    received_epoch: float,
    sequence: Callable[[], int],
    stats: Counter | None = None,
    *,
    sequences: Sequence[int] | None = None,
) -> Iterator[tuple[TickRecord, TickerSnapshot | None]]:
    """Each record of a data ``frame`` as (tick, ticker snapshot or ``None`` for quotes).

    ``sequences`` (one per record, e.g. a recording's row ids) number the ticks instead of
    ``sequence()``. Records of tr_ids without a mapping, unreadable times or non-positive
    executions are skipped (counted in ``stats`` under ``skipped:<tr_id>``)."""
    received = datetime.fromtimestamp(received_epoch, tz=UTC)
    stats = stats if stats is not None else Counter()
    if sequences is not None:
        if len(sequences) != len(frame.records):
            raise ValueError(f"{len(sequences)} sequences for {len(frame.records)} records")
        numbers = iter(sequences)
        sequence = numbers.__next__
    for rec in frame.records:
        number = None if sequences is None else sequence()  # consumed even when the record is skipped
        if frame.tr_id in _TRADE:
            code_k, time_k, price_k, change_k, rate_k, size_k, vol_k, value_k, unit = _TRADE[frame.tr_id]
            day = None
            if frame.tr_id == "H0STCNT0" and len(rec.get("BSOP_DATE", "")) == 8:
                with contextlib.suppress(ValueError):
                    day = datetime.strptime(rec["BSOP_DATE"], "%Y%m%d").date()
            when = _exchange_time(rec.get(time_k, ""), received, day)
            price, size = _dec(rec.get(price_k)), _dec(rec.get(size_k))
            if when is None or price is None or size is None or price <= 0 or size <= 0:
                stats[f"skipped:{frame.tr_id}"] += 1
                continue
            used = {code_k, time_k, price_k, size_k}
            tick = TickRecord(
                symbol=rec[code_k],
                kind="trade",
                session_date=day or _session_date(when, frame.tr_id),
                sequence=number if number is not None else sequence(),
                exchange_time=when,
                received_time=received,
                tr_id=frame.tr_id,
                price=price,
                size=size,
                side=_SIDE.get(rec.get("CCLD_DVSN", ""), ""),
                extra={k: v for k, v in rec.items() if k not in used},
            )
            rate = _dec(rec.get(rate_k))
            value = _dec(rec.get(value_k))
            snapshot = TickerSnapshot(
                exchange="krx",
                symbol=rec[code_k],
                last_price=price,
                change=_dec(rec.get(change_k)),
                change_rate=rate / 100 if rate is not None else None,
                volume_24h=_dec(rec.get(vol_k)),
                traded_value_24h=value * unit if value is not None else None,
                time=when,
            )
            yield tick, snapshot
        elif frame.tr_id in _QUOTE:
            code_k, time_k, ask_k, bid_k, ask_size_k, bid_size_k = _QUOTE[frame.tr_id]
            when = _exchange_time(rec.get(time_k, ""), received, None)
            if when is None:
                stats[f"skipped:{frame.tr_id}"] += 1
                continue
            used = {code_k, time_k, ask_k, bid_k, ask_size_k, bid_size_k}
            yield (
                TickRecord(
                    symbol=rec[code_k],
                    kind="quote",
                    session_date=_session_date(when, frame.tr_id),
                    sequence=number if number is not None else sequence(),
                    exchange_time=when,
                    received_time=received,
                    tr_id=frame.tr_id,
                    bid=_dec(rec.get(bid_k)),
                    ask=_dec(rec.get(ask_k)),
                    bid_size=_dec(rec.get(bid_size_k)),
                    ask_size=_dec(rec.get(ask_size_k)),
                    extra={k: v for k, v in rec.items() if k not in used},
                ),
                None,
            )
        else:
            stats[f"skipped:{frame.tr_id}"] += 1


class KisTickSource(MarketSource):
    """What the ``kis`` and ``kis_replay`` sources share: data frames in (``_on_frame``), ticks
    out to ``tick_sink(list[TickRecord])`` (async) and the latest execution of each code per
    batch as ``TickerSnapshot`` (``flush``). Instruments come from the masters and the KRX lists,
    so ``instruments()`` is empty; candles are not served by these sources."""

    name = "kis"

    def __init__(
        self,
        *,
        parser: FrameParser,
        tick_sink: Callable[[list[TickRecord]], Awaitable[Any]] | None = None,
        batch_seconds: float = 0.5,
        sequence: Callable[[], int] | None = None,
    ) -> None:
        self.parser = parser
        self.last_prices: dict[str, Decimal] = {}
        self.stats: Counter = Counter()
        self.batch_seconds = batch_seconds
        self._tick_sink = tick_sink
        self._sequence = sequence or Sequencer()
        self._ticks: list[TickRecord] = []
        self._snapshots: dict[str, TickerSnapshot] = {}

    def _on_frame(self, frame: Frame, received: float, sequences: Sequence[int] | None = None) -> None:
        if frame.kind != "data":
            return  # quarantined: counted by the parser, logged once per tr_id and hour
        for tick, snapshot in frame_ticks(frame, received, self._sequence, self.stats, sequences=sequences):
            self._ticks.append(tick)
            self.stats["ticks"] += 1
            if snapshot is not None:
                self._snapshots[snapshot.symbol] = snapshot
                self.last_prices[snapshot.symbol] = snapshot.last_price

    def instruments(self) -> list[InstrumentInfo]:
        return []

    def ohlcv(self, symbol, interval, *, since=None, until=None, limit=None) -> Iterator[Bar]:
        raise NotImplementedError("the KIS realtime source serves no candles (see markets.sources.kis.rest)")

    def tickers(self, symbols: list[str] | None = None) -> list[TickerSnapshot]:
        wanted = set(symbols or self._snapshots)
        return [s for code, s in self._snapshots.items() if code in wanted]

    async def flush(self) -> list[TickerSnapshot]:
        """Hand the buffered ticks to the sink; return (and forget) the buffered snapshots."""
        ticks, self._ticks = self._ticks, []
        snapshots, self._snapshots = list(self._snapshots.values()), {}
        if ticks and self._tick_sink is not None:
            try:
                await self._tick_sink(ticks)
            except Exception:  # the board must go on; the batch is logged with its traceback
                logger.exception("KIS: could not store %d ticks", len(ticks))
                self.stats["ticks_lost"] += len(ticks)
        return snapshots


class KisRealtimeSource(KisTickSource):
    """``stream_tickers`` runs one ``KisSession`` and yields a batch of the latest executions every
    ``batch_seconds`` that saw any; ticks of the same interval go to ``tick_sink(list[TickRecord])``
    (async) first. ``planner(last_prices)``: async, returns the registrations wanted now, given the
    last execution price per code heard so far. ``session_kwargs`` go to ``KisSession`` (clock,
    sleep, connect, intervals...)."""

    name = "kis"

    def __init__(
        self,
        *,
        url: str,
        approval_key: Callable[[], Any],
        parser: FrameParser,
        planner: Callable[[dict[str, Decimal]], Awaitable[Sequence[Registration]]],
        tick_sink: Callable[[list[TickRecord]], Awaitable[Any]] | None = None,
        batch_seconds: float = 0.5,
        sequence: Callable[[], int] | None = None,
        **session_kwargs: Any,
    ) -> None:
        super().__init__(parser=parser, tick_sink=tick_sink, batch_seconds=batch_seconds, sequence=sequence)
        self._planner = planner
        self._wake = asyncio.Event()
        self.session = KisSession(
            url=url,
            approval_key=approval_key,
            planner=self._plan,
            on_frame=self._on_frame,
            parser=parser,
            **session_kwargs,
        )

    async def _plan(self) -> Sequence[Registration]:
        return await self._planner(dict(self.last_prices))

    def _on_frame(self, frame: Frame, received: float, sequences: Sequence[int] | None = None) -> None:
        super()._on_frame(frame, received, sequences)
        if frame.kind == "data":
            self._wake.set()

    async def stream_tickers(self, symbols: list[str] | None = None) -> AsyncIterator[list[TickerSnapshot]]:
        wanted = set(symbols) if symbols else None
        task = asyncio.create_task(self.session.run())
        try:
            while True:
                try:
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                except TimeoutError:
                    if task.done():
                        task.result()  # the session ended: surface why
                    continue
                await asyncio.sleep(self.batch_seconds)  # gather the interval's frames
                self._wake.clear()
                batch = await self.flush()
                if wanted is not None:
                    batch = [s for s in batch if s.symbol in wanted]
                if batch:
                    yield batch
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self.flush()
