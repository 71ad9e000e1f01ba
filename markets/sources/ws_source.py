"""A live ticker and trade source over an exchange's public WebSocket, REST only while it is down.

``WsSource(exchange)`` (``exchange`` one of ``ws_protocols.PROTOCOLS``: upbit, bithumb,
binanceusdm, bybit, bitmex) is a ``MarketSource`` whose ``stream_tickers`` yields ticker batches
pushed by the exchange:

* **connect, subscribe, read**: the protocol's subscription frames are sent on every connect
  (so a reconnect resubscribes everything); application pings where the exchange wants them;
* **reconnect** after any drop, refused connect, or ``idle_timeout`` seconds of silence, with
  capped exponential backoff and equal jitter: attempt n waits between half and all of
  ``min(backoff_cap, backoff_base * 2**(n-1))`` seconds; the attempt counter resets only once
  a connection has delivered data (a server that accepts and drops at once still backs off);
* **REST fallback**: while the socket is down, ``rest.tickers(symbols)`` (the ccxt REST source,
  behind the host's circuit breaker) is polled every ``poll_interval`` seconds; polling stops as
  soon as the socket delivers again, and a poll that lands after that is dropped;
* **sequence gaps**: where the exchange numbers its trades contiguously (Binance trade ids),
  a jump is counted (``stats["gaps"]``, ``stats["missing"]``); duplicates and replays are
  counted as ``stats["stale"]`` and not passed on;
* **trades** go to ``trade_handlers`` (callables taking ``list[Trade]``, e.g. the live
  taker-volume ETL, ``etl.live``; a handler with a ``stream_break(reason)`` method is told
  when the socket drops or a sequence gap appears, before the trades after it) and move the ticker's last price: a trade updates the latest snapshot of its
  symbol (change re-derived from that snapshot's reference price); a symbol with no snapshot yet
  gets none from trades (a trade carries no 24 h volume, and a ticker without it would push the
  coin off the board).

Logging: one line per state change on ``markets.sources.ws_source`` - socket up (with how long
it was down and how many attempts), socket down (the reason, fallback on), first sequence gap
after an in-order stretch, sequence in order again - and never a traceback for network trouble;
single failed attempts log at DEBUG. The REST fallback's breaker logs its own state changes.

``connect``, ``sleep``, ``clock`` and ``rand`` are injectable for tests; no Django imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from .base import Bar, InstrumentInfo, MarketSource, TickerSnapshot
from .ws_protocols import PROTOCOLS, Parsed, Protocol, Trade

log = logging.getLogger(__name__)

LIVE, DOWN, STARTING = "live", "down", "starting"

TradeHandler = Callable[[list[Trade]], Any]


def backoff_delay(attempt: int, *, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds before reconnect attempt ``attempt`` (1, 2, ...): ``min(cap, base * 2**(n-1))``
    with equal jitter (between half and all of it); 0 for ``attempt`` <= 0."""
    if attempt <= 0:
        return 0.0
    ceiling = min(cap, base * 2 ** min(attempt - 1, 30))
    return ceiling / 2 + rand() * ceiling / 2


class SequenceTracker:
    """Counts gaps in per-key contiguous sequences (one line per state change).

    ``observe(key, seq)`` returns ``"ok"``, ``"gap"`` (``seq`` jumped; the missing count is
    added to ``missing``) or ``"stale"`` (``seq`` at or below the last one: a duplicate or replay).
    The first gap after an in-order stretch logs a warning; later gaps are only counted until
    ``recover_after`` consecutive in-order messages, which log one line that it is in order again.
    """

    def __init__(self, name: str, *, recover_after: int = 1000, logger: logging.Logger = log) -> None:
        self.name = name
        self.recover_after = recover_after
        self.log = logger
        self.last: dict[str, int] = {}
        self.gaps = 0
        self.missing = 0
        self.stale = 0
        self.in_order = True
        self._streak = 0
        self._gaps_since = 0

    def observe(self, key: str, seq: int) -> str:
        last = self.last.get(key)
        if last is not None and seq <= last:
            self.stale += 1
            return "stale"
        self.last[key] = seq
        if last is None or seq == last + 1:
            self._streak += 1
            if not self.in_order and self._streak >= self.recover_after:
                self.in_order = True
                self.log.info(
                    "%s: sequence in order again (%d gaps, %d missing meanwhile)",
                    self.name,
                    self._gaps_since,
                    self.missing,
                )
            return "ok"
        gap = seq - last - 1
        self.gaps += 1
        self.missing += gap
        self._streak = 0
        if self.in_order:
            self.in_order = False
            self._gaps_since = 0
            self.log.warning(
                "%s: sequence gap on %s: %d missing (%d -> %d); further gaps are counted",
                self.name,
                key,
                gap,
                last,
                seq,
            )
        self._gaps_since += 1
        return "gap"


async def _default_connect(url: str) -> Any:
    from websockets.asyncio.client import connect

    return await connect(url, open_timeout=10, ping_interval=20, ping_timeout=20, max_size=2**23)


def _network_errors() -> tuple[type[BaseException], ...]:
    from websockets.exceptions import WebSocketException

    return (OSError, TimeoutError, asyncio.TimeoutError, WebSocketException, EOFError)


class WsSource(MarketSource):
    """See the module docstring. ``rest``: a ``MarketSource`` for instruments, candles and the
    fallback (default: ``CcxtSource(exchange, max_retries=0, breakers=breakers)``).

    ``stats`` (a Counter): ``connect_attempts``, ``connects``, ``disconnects``, ``subscriptions``
    (frames sent), ``messages``, ``tickers``, ``trades``, ``gaps``, ``missing``, ``stale``,
    ``fallback_polls``, ``fallback_failures``, ``errors`` (exchange refusals). ``state``: "starting",
    "live" or "down". ``delays``: every reconnect wait chosen (seconds).
    """

    def __init__(
        self,
        exchange: str,
        *,
        url: str | None = None,
        rest: MarketSource | None = None,
        breakers: Callable[[str], Any] | None = None,
        trade_handlers: Iterable[TradeHandler] = (),
        poll_interval: float = 2.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        idle_timeout: float | None = 60.0,
        connect: Callable[[str], Awaitable[Any]] = _default_connect,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if exchange not in PROTOCOLS:
            raise ValueError(f"no WebSocket protocol for {exchange!r}; expected one of {', '.join(PROTOCOLS)}")
        self.exchange = exchange
        self.name = f"{exchange}_ws"
        self.protocol: Protocol = PROTOCOLS[exchange]()
        self.url = url or self.protocol.url
        if rest is None:
            from .ccxt_source import CcxtSource

            rest = CcxtSource(exchange, max_retries=0, breakers=breakers)
        self.rest = rest
        self.trade_handlers = list(trade_handlers)
        self.poll_interval = poll_interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.idle_timeout = idle_timeout
        self._connect = connect
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self.stats: Counter = Counter()
        self.delays: list[float] = []
        self.state = STARTING
        self.sequences = SequenceTracker(self.name)
        self.latest: dict[str, TickerSnapshot] = {}
        self._live = asyncio.Event()
        self._down = asyncio.Event()
        self._delivered = False
        self._refusal_logged = False
        self._down_since: float | None = None
        self._attempts_down = 0
        self._queue: asyncio.Queue[list[TickerSnapshot]] | None = None

    # -- MarketSource: the REST side ------------------------------------------------------------

    def instruments(self) -> list[InstrumentInfo]:
        """The REST source's instruments; ``[]`` (one warning) when the host is unreachable, so
        the feed runs on the instruments already stored."""
        try:
            return self.rest.instruments()
        except Exception as exc:  # network down or breaker open: not worth a traceback
            if not _is_network(exc):
                raise
            log.warning(
                "%s: instruments unavailable (%s: %s); using the stored ones", self.name, type(exc).__name__, exc
            )
            return []

    def ohlcv(
        self,
        symbol: str,
        interval: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[Bar]:
        return self.rest.ohlcv(symbol, interval, since=since, until=until, limit=limit)

    def tickers(self, symbols: list[str] | None = None) -> list[TickerSnapshot]:
        return self.rest.tickers(symbols)

    # -- the stream -------------------------------------------------------------------------------

    async def stream_tickers(self, symbols: list[str] | None = None) -> AsyncIterator[list[TickerSnapshot]]:
        """Ticker batches from the socket (or the REST fallback while it is down), forever.

        ``symbols`` (unified) are subscribed; ``None`` subscribes every active instrument the
        REST source lists for the exchange's main quote (KRW on Upbit/Bithumb, USDT perpetuals
        on Binance/Bybit). A batch holds the newest snapshot per symbol of everything received
        since the previous batch was taken (no waiting: the batch is what queued meanwhile).
        """
        wanted = list(symbols) if symbols else self._default_symbols()
        self._queue = asyncio.Queue()
        tasks = [asyncio.create_task(self._connection_loop(wanted)), asyncio.create_task(self._fallback_loop(wanted))]
        try:
            while True:
                waiter = asyncio.create_task(self._queue.get())
                done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
                if waiter not in done:
                    waiter.cancel()
                    for task in done:
                        task.result()  # a loop ended: raise its error (it never ends otherwise)
                    continue
                merged: dict[str, TickerSnapshot] = {s.symbol: s for s in waiter.result()}
                while not self._queue.empty():
                    merged.update((s.symbol, s) for s in self._queue.get_nowait())
                yield list(merged.values())
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def _default_symbols(self) -> list[str]:
        quote = "KRW" if self.exchange in ("upbit", "bithumb") else "USDT" if self.exchange != "bitmex" else "USD"
        return [i.symbol for i in self.instruments() if i.active and i.quote == quote]

    def _emit(self, snapshots: list[TickerSnapshot]) -> None:
        fresh = []
        for snap in snapshots:
            current = self.latest.get(snap.symbol)
            if current is not None and current.time > snap.time:
                continue
            self.latest[snap.symbol] = snap
            fresh.append(snap)
        if fresh and self._queue is not None:
            self.stats["tickers"] += len(fresh)
            self._queue.put_nowait(fresh)

    def _trade_tickers(self, trades: list[Trade]) -> list[TickerSnapshot]:
        out: dict[str, TickerSnapshot] = {}
        for trade in trades:
            current = out.get(trade.symbol) or self.latest.get(trade.symbol)
            if current is None or trade.time < current.time or trade.no_taker:
                continue
            reference = current.last_price - current.change if current.change is not None else None
            change = trade.price - reference if reference is not None else None
            out[trade.symbol] = replace(
                current,
                last_price=trade.price,
                change=change,
                change_rate=change / reference if change is not None and reference else current.change_rate,
                time=trade.time,
            )
        return list(out.values())

    def handle(self, parsed: Parsed) -> None:
        """Apply one parsed message: tickers out, trades checked for gaps, handed on, priced."""
        if parsed.error:
            self.stats["errors"] += 1
            if not self._refusal_logged:  # once per connection
                self._refusal_logged = True
                log.warning("%s: the exchange refused: %s", self.name, parsed.error)
        kept: list[Trade] = []
        pending: list[Trade] = []
        for trade in parsed.trades:
            if trade.sequence is not None:
                verdict = self.sequences.observe(trade.symbol, trade.sequence)
                if verdict == "stale":
                    continue
                if verdict == "gap":
                    self._deliver(pending)  # what came before the gap, then the break
                    pending = []
                    self._break(f"sequence gap on {trade.symbol}")
            kept.append(trade)
            pending.append(trade)
        self.stats["gaps"], self.stats["missing"] = self.sequences.gaps, self.sequences.missing
        self.stats["stale"] = self.sequences.stale
        self._deliver(pending)
        self._emit(parsed.tickers + self._trade_tickers(kept))

    def _deliver(self, trades: list[Trade]) -> None:
        if not trades:
            return
        self.stats["trades"] += len(trades)
        for handler in self.trade_handlers:
            try:
                handler(trades)
            except Exception:
                log.exception("%s: trade handler %r failed", self.name, handler)

    def _break(self, reason: str) -> None:
        """Tell the trade handlers that have a ``stream_break(reason)`` that trades may be missing."""
        for handler in self.trade_handlers:
            stream_break = getattr(handler, "stream_break", None)
            if stream_break is not None:
                try:
                    stream_break(reason)
                except Exception:
                    log.exception("%s: trade handler %r failed on a break", self.name, handler)

    # -- state changes ------------------------------------------------------------------------

    def _went_live(self) -> None:
        if self.state == LIVE:
            return
        if self.state == DOWN and self._down_since is not None:
            log.warning(
                "%s: socket back after %.0f s and %d attempts; resubscribed; REST fallback off",
                self.name,
                self._clock() - self._down_since,
                self._attempts_down,
            )
        else:
            log.info("%s: socket up (%s)", self.name, self.url)
        self.state = LIVE
        self._live.set()
        self._down.clear()
        self._down_since, self._attempts_down = None, 0

    def _went_down(self, reason: str) -> None:
        if self.state == DOWN:
            return
        log.warning(
            "%s: socket down (%s); REST fallback every %g s, reconnecting with backoff up to %g s",
            self.name,
            reason,
            self.poll_interval,
            self.backoff_cap,
        )
        self.state = DOWN
        self._live.clear()
        self._down.set()
        self._down_since = self._clock()
        self._break(reason)

    # -- the loops ----------------------------------------------------------------------------

    async def _connection_loop(self, symbols: list[str]) -> None:
        attempt = 0
        errors = _network_errors()
        while True:
            if attempt:
                delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rand=self._rand)
                self.delays.append(delay)
                await self._sleep(delay)
            attempt += 1
            self.stats["connect_attempts"] += 1
            if self.state == DOWN:
                self._attempts_down += 1
            try:
                ws = await self._connect(self.url)
            except errors as exc:
                log.debug("%s: connect failed: %s: %s", self.name, type(exc).__name__, exc)
                self._went_down(f"connect failed: {type(exc).__name__}: {exc}")
                continue
            self.stats["connects"] += 1
            reason = "closed by the exchange"
            try:
                delivered = await self._serve(ws, symbols)
                if delivered:
                    attempt = 0
            except errors as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if self._delivered:
                    attempt = 0
            finally:
                self.stats["disconnects"] += 1
                with contextlib.suppress(Exception):
                    await ws.close()
            log.debug("%s: connection ended: %s", self.name, reason)
            self._went_down(reason)

    async def _serve(self, ws: Any, symbols: list[str]) -> bool:
        """Subscribe and read until the connection ends; True if it delivered any message."""
        self._delivered = self._refusal_logged = False
        for frame in self.protocol.subscriptions(symbols):
            await ws.send(frame)
            self.stats["subscriptions"] += 1
        pinger = asyncio.create_task(self._ping(ws)) if self.protocol.ping_message else None
        try:
            while True:
                if self.idle_timeout is None:
                    message = await ws.recv()
                else:
                    try:
                        message = await asyncio.wait_for(ws.recv(), self.idle_timeout)
                    except TimeoutError:
                        raise TimeoutError(f"no message for {self.idle_timeout:.0f} s") from None
                self.stats["messages"] += 1
                self._delivered = True
                self._went_live()
                try:
                    parsed = self.protocol.parse(message)
                except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
                    self.stats["unparsed"] += 1
                    log.debug("%s: unparsed message (%s): %.200r", self.name, exc, message)
                    continue
                self.handle(parsed)
        finally:
            if pinger is not None:
                pinger.cancel()

    async def _ping(self, ws: Any) -> None:
        while True:
            await asyncio.sleep(self.protocol.ping_seconds)
            await ws.send(self.protocol.ping_message)

    async def _fallback_loop(self, symbols: list[str]) -> None:
        while True:
            await self._down.wait()
            self.stats["fallback_polls"] += 1
            try:
                snapshots = await asyncio.to_thread(self.rest.tickers, symbols)
            except Exception as exc:
                if not _is_network(exc):
                    raise
                self.stats["fallback_failures"] += 1
                log.debug("%s: REST fallback failed: %s", self.name, exc)
            else:
                if self.state == DOWN:  # the socket came back meanwhile: its data is newer
                    self._emit(snapshots)
            await self._sleep(self.poll_interval)


def _is_network(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError):
        return True
    try:
        import ccxt
    except ImportError:  # pragma: no cover
        return False
    from .retry import HostDown

    return isinstance(exc, ccxt.NetworkError | HostDown)
