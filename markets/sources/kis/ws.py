"""One upstream KIS realtime WebSocket session per app key (pure Python, no Django).

Wire (KIS Open API, ``ws://ops.koreainvestment.com:21000`` real, ``:31000`` mock):

* register / unregister: a text frame ``{"header": {"approval_key", "custtype": "P", "tr_type":
  "1" (subscribe) | "2" (unsubscribe), "content-type": "utf-8"}, "body": {"input": {"tr_id",
  "tr_key"}}}``; KIS answers with an acknowledgement (``body.rt_cd`` ``"0"`` success; its
  ``output`` carries the AES key and iv of that tr_id's encrypted notices, kept by the parser);
* ``PINGPONG`` JSON frames are echoed back verbatim (KIS closes silent sessions);
* data frames ``flag|tr_id|count|payload`` are parsed by ``FrameParser`` (every record, AES-256-CBC
  decrypted when ``flag`` is ``1``; unknown layouts quarantined, never raised).

``KisSession.run()`` keeps the session up until cancelled: it connects, registers what
``planner()`` asks for, re-plans every ``replan_seconds`` (2 s) sending only the difference
(unsubscribes first, so at most ``max_registrations`` = 41 are ever held), and on a drop
reconnects with capped exponential backoff and jitter (``backoff_cap`` 60 s) and never more than
one connect attempt per ``min_connect_interval`` (10 s: KIS blocks app keys that loop), then
registers everything again. The last attempt time is kept per process and URL, so a session
rebuilt after a failure (``run_feed_forever``) still waits out the interval.
``clock``/``sleep``/``rand`` are injectable so tests run fast.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .frames import Frame, FrameParser
from .planner import MAX_REGISTRATIONS, Registration, diff

logger = logging.getLogger(__name__)

SUBSCRIBE, UNSUBSCRIBE = "1", "2"
# ack msg_cd that still mean "registered": already subscribed (OPSP0002)
ACK_ALREADY = {"OPSP0002"}


def registration_message(approval_key: str, tr_type: str, registration: Registration, *, custtype: str = "P") -> str:
    """The JSON text KIS documents for (un)registering ``registration`` = (tr_id, tr_key)."""
    tr_id, tr_key = registration
    return json.dumps(
        {
            "header": {"approval_key": approval_key, "custtype": custtype, "tr_type": tr_type, "content-type": "utf-8"},
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        }
    )


def backoff_delay(failures: int, *, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds before reconnect attempt number ``failures`` (1, 2, ...): ``min(cap, base * 2**(n-1))``
    with equal jitter (between half and all of it); 0 for ``failures`` <= 0."""
    if failures <= 0:
        return 0.0
    ceiling = min(cap, base * 2 ** min(failures - 1, 30))
    return ceiling / 2 + rand() * ceiling / 2


async def _default_connect(url: str):
    from websockets.asyncio.client import connect

    # KIS keeps the session alive with its own PINGPONG frames; protocol pings are not relied on
    return await connect(url, ping_interval=None, open_timeout=10, max_size=2**22)


class KisSession:
    """The realtime session of one app key.

    ``approval_key()``: the WebSocket approval key (sync or async; called on every connect, cached by
    the auth module). ``planner()``: async, the wanted registrations in priority order (truncated to
    ``max_registrations``). ``on_frame(frame, received)``: called with every data frame (and every
    quarantined one, ``frame.kind == "quarantine"``) and the wall-clock receive time (epoch seconds);
    its exceptions are logged, never stop the session. ``connect(url)``: async, returns a websockets
    connection (for tests). ``idle_timeout``: seconds without any message before the session is
    treated as dead (``None``: never).

    ``stats``: Counter of ``connect_attempts``, ``connects``, ``disconnects``, ``subscribe``,
    ``unsubscribe``, ``rejected``, ``pingpong``, ``frames``; ``attempt_times``: ``clock()`` of every
    connect attempt; ``active``: the registrations held on the current connection.
    """

    # (url, clock) -> clock() of the latest connect attempt of any session in this process
    _last_attempts: dict[tuple[str, Callable[[], float]], float] = {}

    def __init__(
        self,
        *,
        url: str,
        approval_key: Callable[[], str | Awaitable[str]],
        planner: Callable[[], Awaitable[Sequence[Registration]]],
        on_frame: Callable[[Frame, float], Any],
        parser: FrameParser,
        custtype: str = "P",
        replan_seconds: float = 2.0,
        min_connect_interval: float = 10.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_registrations: int = MAX_REGISTRATIONS,
        idle_timeout: float | None = 90.0,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        connect: Callable[[str], Awaitable[Any]] = _default_connect,
    ) -> None:
        self.url = url
        self._approval_key = approval_key
        self._planner = planner
        self._on_frame = on_frame
        self.parser = parser
        self.custtype = custtype
        self.replan_seconds = replan_seconds
        self.min_connect_interval = min_connect_interval
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_registrations = min(max_registrations, MAX_REGISTRATIONS)
        self.idle_timeout = idle_timeout
        self._clock = clock
        self._wallclock = wallclock
        self._sleep = sleep
        self._rand = rand
        self._connect = connect
        self.stats: Counter = Counter()
        self.attempt_times: list[float] = []
        self.active: list[Registration] = []
        self.rejected: set[Registration] = set()
        self.connected = asyncio.Event()
        self._key = ""
        self._lock = asyncio.Lock()

    # -- the connection loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, reconnect; returns only by cancellation."""
        failures = 0
        last_attempt: float | None = self._last_attempts.get((self.url, self._clock))
        while True:
            delay = backoff_delay(failures, base=self.backoff_base, cap=self.backoff_cap, rand=self._rand)
            if last_attempt is not None:
                delay = max(delay, last_attempt + self.min_connect_interval - self._clock())
            if delay > 0:
                await self._sleep(delay)
            last_attempt = self._clock()
            self._last_attempts[(self.url, self._clock)] = last_attempt
            self.attempt_times.append(last_attempt)
            self.stats["connect_attempts"] += 1
            healthy = False
            try:
                key = self._approval_key()
                self._key = await key if inspect.isawaitable(key) else key
                ws = await self._connect(self.url)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, DNS, handshake, approval key: all mean "down"
                failures += 1
                logger.warning("KIS realtime: connect attempt %d failed: %s", failures, exc)
                continue
            self.stats["connects"] += 1
            try:
                healthy = await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("KIS realtime: session failed")
            finally:
                self.connected.clear()
                self.active = []
                self.rejected = set()
                self.stats["disconnects"] += 1
                try:
                    await ws.close()
                except Exception:  # already gone
                    pass
            failures = 0 if healthy else failures + 1
            logger.warning("KIS realtime: session closed; reconnecting (failures in a row: %d)", failures)

    async def _serve(self, ws) -> bool:
        """Register, read until the connection ends; True when KIS answered anything (healthy)."""
        self.active = []
        self.rejected = set()
        self.connected.set()
        heard = False
        replanner = asyncio.create_task(self._replan_loop(ws))
        try:
            while True:
                try:
                    if self.idle_timeout is None:
                        message = await ws.recv()
                    else:
                        message = await asyncio.wait_for(ws.recv(), self.idle_timeout)
                except TimeoutError:
                    logger.warning("KIS realtime: nothing heard for %.0f s; reconnecting", self.idle_timeout)
                    return heard
                except Exception:  # websockets.ConnectionClosed and transport errors
                    return heard
                heard = True
                await self._handle(ws, message)
        finally:
            replanner.cancel()
            await asyncio.gather(replanner, return_exceptions=True)

    async def _handle(self, ws, message) -> None:
        frame = self.parser.parse(message)
        if frame.kind == "pingpong":
            self.stats["pingpong"] += 1
            await ws.send(frame.raw)
            return
        if frame.kind == "ack":
            self._ack(frame)
            return
        if frame.kind in ("data", "quarantine"):
            self.stats["frames" if frame.kind == "data" else "quarantined"] += 1
            try:
                result = self._on_frame(frame, self._wallclock())
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("KIS realtime: frame handler failed for %s", frame.tr_id)

    def _ack(self, frame: Frame) -> None:
        ack = frame.ack or {}
        header, body = ack.get("header") or {}, ack.get("body") or {}
        registration = (str(header.get("tr_id", "")), str(header.get("tr_key", "")))
        if str(body.get("rt_cd")) == "0" or body.get("msg_cd") in ACK_ALREADY:
            return
        # refused (e.g. MAX SUBSCRIBE OVER, bad tr_key): drop it and do not ask again this connection
        self.stats["rejected"] += 1
        self.rejected.add(registration)
        if registration in self.active:
            self.active.remove(registration)
        logger.warning(
            "KIS realtime: registration %s refused: %s %s", registration, body.get("msg_cd"), body.get("msg1")
        )

    # -- planning -------------------------------------------------------------------------------

    async def _replan_loop(self, ws) -> None:
        while True:
            try:
                await self.apply_plan(ws)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if type(exc).__module__.startswith("websockets"):
                    return  # the connection is gone; the reader ends the session
                logger.exception("KIS realtime: re-plan failed")
            await self._sleep(self.replan_seconds)

    async def apply_plan(self, ws) -> tuple[list[Registration], list[Registration]]:
        """Ask the planner and send the difference; returns (unsubscribed, subscribed)."""
        async with self._lock:
            wanted = [r for r in dict.fromkeys(await self._planner()) if r not in self.rejected]
            wanted = wanted[: self.max_registrations]
            unsubscribe, subscribe = diff(self.active, wanted)
            for registration in unsubscribe:
                await ws.send(registration_message(self._key, UNSUBSCRIBE, registration, custtype=self.custtype))
                self.active.remove(registration)
                self.stats["unsubscribe"] += 1
            for registration in subscribe:
                if len(self.active) >= self.max_registrations:  # never, given the truncation; a guard
                    break
                await ws.send(registration_message(self._key, SUBSCRIBE, registration, custtype=self.custtype))
                self.active.append(registration)
                self.stats["subscribe"] += 1
            return unsubscribe, subscribe
