"""The taker-volume ETL on the live WebSocket trade stream: a minute's row within seconds of its close.

``StreamTakerVolume(exchange)`` is a trade handler of ``markets.sources.ws_source.WsSource``
(the same connection that feeds the tickers): it buckets the trades of the configured live
pairs (``ETL["LIVE_PAIRS"]``) of that exchange, and its ``run()`` loop loads every minute once
it has closed (``close_delay`` seconds after its end, for trades still in flight) through
``etl.services.taker_volume_stream_load`` - the same transform, upsert and coverage rules as
the file import and the REST live run, so a minute the stream saw whole is written complete
and re-running changes nothing.

Coverage: the stream vouches for the time strictly after the instant of the first trade it
received after a (re)connect (not the earliest timestamp: trades can arrive out of order) up to
the minute boundary it loads, as long as it stays connected. ``stream_break`` (called by the
source when the socket drops or a sequence gap appears) seals what was buffered: it is loaded
as ending at its last trade, so the minute cut by the break stays partial (staged, completed
later by the REST job or a file), and coverage starts again at the next trade.

``clock`` (epoch seconds) is injectable: a replay can run on the recording's time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from channels.db import database_sync_to_async

from etl import formats
from etl.conf import live_pairs
from etl.pairs import Pair
from etl.transform import MINUTE_US

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)


@dataclass
class _Bucket:
    pair: Pair
    rows: list[tuple[str, int, bool, str, str, bool]] = field(default_factory=list)
    coverage_start: int | None = None  # µs: every trade seen since; None: no trade since the start or a break
    loaded_to: int | None = None  # µs: the last minute boundary loaded
    sealed: list[tuple[list, int | None, int | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Chunk:
    """Trades of one pair to load, vouched for from ``start_us`` (None: just after the first
    trade) to ``end_us`` (None: the last trade)."""

    pair: Pair
    raw: pd.DataFrame
    start_us: int | None
    end_us: int | None


def _frame(pair: Pair, rows: list[tuple[str, int, bool, str, str, bool]]) -> pd.DataFrame:
    """Buffered rows -> ``transform.RAW_COLUMNS``, with the trade ids the other extractors use
    (int64 for sequential ids; content ids for Bithumb, which sends none), so a trade seen by
    the stream and by the REST job or a file counts once."""
    ids = [r[0] for r in rows]
    frame = pd.DataFrame(
        {
            "trade_id": np.asarray([int(i) for i in ids], dtype=np.int64)
            if pair.sequential_ids
            else np.asarray(ids, dtype=object),
            "ts_us": np.asarray([r[1] for r in rows], dtype=np.int64),
            "is_buy": np.asarray([r[2] for r in rows], dtype=bool),
            "price": np.asarray([r[3] for r in rows], dtype=object),
            "amount": np.asarray([r[4] for r in rows], dtype=object),
        }
    )
    if any(r[5] for r in rows):  # fills without a taker: seen (coverage), not counted
        frame["no_taker"] = np.asarray([r[5] for r in rows], dtype=bool)
    if pair.exchange == "bithumb":
        frame["trade_id"] = formats.content_ids(frame)
    return frame


class StreamTakerVolume:
    """See the module docstring. ``pairs``: default the live pairs of ``exchange``.

    ``stats``: ``trades`` (bucketed), ``late`` (arrived after their minute was loaded: dropped,
    the REST job picks them up), ``minutes_loaded``, ``loads``, ``load_failures``.
    ``loaded_at``: minute start (µs) -> ``clock()`` when its load committed (for the latency).
    """

    def __init__(
        self,
        exchange: str,
        *,
        pairs: list[Pair] | None = None,
        close_delay: float = 2.0,
        tick: float = 0.25,
        clock: Callable[[], float] = time.time,
        load: Callable[[Chunk], object] | None = None,
    ) -> None:
        self.exchange = exchange
        chosen = pairs if pairs is not None else [p for p in live_pairs() if p.exchange == exchange]
        self.buckets = {p.ccxt_symbol: _Bucket(p) for p in chosen}
        self.close_delay = close_delay
        self.tick = tick
        self.clock = clock
        self._load = load or _load
        self.stats: dict[str, int] = {"trades": 0, "late": 0, "minutes_loaded": 0, "loads": 0, "load_failures": 0}
        self.loaded_at: dict[int, float] = {}
        self._failing = False
        self.busy = False  # a load is running (``run``)

    def __bool__(self) -> bool:
        return bool(self.buckets)

    # -- called by the stream (in its event loop: no I/O here) -------------------------------------

    def __call__(self, trades) -> None:
        for t in trades:
            bucket = self.buckets.get(t.symbol)
            if bucket is None or t.exchange != self.exchange:
                continue
            ts_us = (t.time - EPOCH) // ONE_US
            if bucket.loaded_to is not None and ts_us < bucket.loaded_to:
                self.stats["late"] += 1
                continue
            if bucket.coverage_start is None:  # the first trade since the start or a break
                bucket.coverage_start = ts_us + 1  # its instant may hold trades sent before it
            bucket.rows.append(
                (t.trade_id, ts_us, t.side == "buy", format(t.price, "f"), format(t.amount, "f"), t.no_taker)
            )
            self.stats["trades"] += 1

    def stream_break(self, reason: str = "") -> None:
        """The stream may have missed trades from now on: seal what is buffered."""
        for bucket in self.buckets.values():
            if bucket.rows:
                bucket.sealed.append((bucket.rows, bucket.coverage_start, None))
            bucket.rows, bucket.coverage_start = [], None

    # -- the loads ------------------------------------------------------------------------------

    def take_closed(self, now: float | None = None) -> list[Chunk]:
        """The chunks ready to load at ``now`` (default ``clock()``), removed from the buffers."""
        now_us = int((self.clock() if now is None else now) * 1_000_000)
        boundary = (now_us - int(self.close_delay * 1_000_000)) // MINUTE_US * MINUTE_US
        chunks = []
        for bucket in self.buckets.values():
            for rows, start, end in bucket.sealed:
                chunks.append(Chunk(bucket.pair, _frame(bucket.pair, rows), start, end))
            bucket.sealed = []
            if bucket.coverage_start is None or boundary <= bucket.coverage_start:
                continue  # nothing seen since the first trade, or that minute has not closed
            if bucket.loaded_to is not None and boundary <= bucket.loaded_to:
                continue
            closed = [r for r in bucket.rows if r[1] < boundary]
            bucket.rows = [r for r in bucket.rows if r[1] >= boundary]
            if closed:
                chunks.append(Chunk(bucket.pair, _frame(bucket.pair, closed), bucket.coverage_start, boundary))
            bucket.coverage_start, bucket.loaded_to = boundary, boundary
        return chunks

    def flush(self, now: float | None = None) -> int:
        """Load every closed chunk now (sync; tests and the final flush). Returns minutes loaded."""
        return sum(self._load_one(chunk) for chunk in self.take_closed(now))

    def _load_one(self, chunk: Chunk) -> int:
        try:
            minutes = int(self._load(chunk) or 0)
        except Exception as exc:  # a database hiccup: one line per state change, the chunk is lost
            self.stats["load_failures"] += 1
            if not self._failing:
                self._failing = True
                log.warning("taker volume stream %s: load failed (%s: %s)", self.exchange, type(exc).__name__, exc)
            return 0
        if self._failing:
            self._failing = False
            log.warning("taker volume stream %s: loads work again", self.exchange)
        self.stats["loads"] += 1
        self.stats["minutes_loaded"] += minutes
        now = self.clock()
        if chunk.end_us is not None:
            self.loaded_at[chunk.end_us - MINUTE_US] = now
        return minutes

    async def run(self) -> None:
        """Load closed minutes every ``tick`` seconds until cancelled (loads run in a thread)."""
        load = database_sync_to_async(self._load_one)
        while True:
            for chunk in self.take_closed():
                self.busy = True
                try:
                    await load(chunk)
                finally:
                    self.busy = False
            await asyncio.sleep(self.tick)


def _load(chunk: Chunk) -> int:
    from etl.services import taker_volume_stream_load

    run = taker_volume_stream_load(
        pair=chunk.pair, raw=chunk.raw, start_us=chunk.start_us, end_us=chunk.end_us, source="ws"
    )
    return run.minutes_written


def stream_handler(*, exchange: str) -> StreamTakerVolume | None:
    """``MARKETS["TRADE_HANDLERS"]`` entry: the live taker-volume ETL of ``exchange``'s trade
    stream, or ``None`` when no live pair is on that exchange."""
    handler = StreamTakerVolume(exchange)
    return handler if handler else None
