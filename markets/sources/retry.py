"""The one retry helper of tradesite, with a circuit breaker per host. No Django imports.

``retry_call(call, transient=..., breaker=...)`` runs ``call()``; a *transient* error (network
trouble: timeouts, refused connections, 5xx, 429) is retried with capped exponential backoff
(``backoff_base * 2**n`` seconds, at most ``max_delay``), anything else propagates at once
(it would fail the same way again).

``CircuitBreaker`` (one per host) counts consecutive network failures across calls:

* **closed** - calls pass; after ``threshold`` consecutive failures it **opens**;
* **open** - calls are skipped without touching the network (``HostDown``) until ``retry_at``;
  the wait starts at ``base_delay`` and doubles after each failed probe, up to ``max_delay``
  (30 minutes);
* **half-open** - the first call after ``retry_at`` is a probe: success **closes** the breaker
  (failures and backoff reset), failure opens it again with the doubled wait.

Logging: one line per state change (opened, probe failed/still down, closed) on the
``markets.sources.retry`` logger, never a traceback; the retries themselves log at DEBUG.

Where the state lives is the store's business: ``MemoryStore`` keeps it in the process (the
default); ``markets.breakers`` keeps it in Django's cache (shared by every process when the
cache is Redis). Times are wall-clock seconds (``time.time``), so a state written by one process
means the same in another; tests pass a fake ``clock``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

DEFAULT_THRESHOLD = 3
"""Consecutive network failures that open a breaker."""
DEFAULT_BASE_DELAY = 60.0
"""Seconds a freshly opened breaker skips its host before the first probe."""
MAX_OPEN_DELAY = 30 * 60.0
"""The longest wait between two probes of a down host: 30 minutes."""


class HostDown(Exception):
    """A call skipped because its host's breaker is open. ``host``; ``retry_at`` (epoch s)."""

    def __init__(self, host: str, retry_at: float, last_error: str = "") -> None:
        super().__init__(f"{host} is down (breaker open){': ' + last_error if last_error else ''}")
        self.host = host
        self.retry_at = retry_at
        self.last_error = last_error


@dataclass
class BreakerState:
    """What a breaker remembers about its host. ``retry_at``/``opened_at``/``changed_at``: epoch s."""

    state: str = CLOSED
    failures: int = 0  # consecutive network failures
    trips: int = 0  # failed probes since the breaker opened (the backoff exponent)
    opened_at: float | None = None
    retry_at: float | None = None
    changed_at: float | None = None
    last_error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


class BreakerStore(Protocol):
    def get(self, host: str) -> BreakerState | None: ...

    def set(self, host: str, state: BreakerState) -> None: ...

    def hosts(self) -> list[str]: ...


class MemoryStore:
    """Breaker states of this process only."""

    def __init__(self) -> None:
        self._states: dict[str, BreakerState] = {}
        self._lock = threading.Lock()

    def get(self, host: str) -> BreakerState | None:
        with self._lock:
            state = self._states.get(host)
            return None if state is None else BreakerState(**state.as_dict())

    def set(self, host: str, state: BreakerState) -> None:
        with self._lock:
            self._states[host] = BreakerState(**state.as_dict())

    def hosts(self) -> list[str]:
        with self._lock:
            return sorted(self._states)


class CircuitBreaker:
    """The breaker of one ``host`` (see the module docstring), its state in ``store``."""

    def __init__(
        self,
        host: str,
        *,
        store: BreakerStore | None = None,
        threshold: int = DEFAULT_THRESHOLD,
        base_delay: float = DEFAULT_BASE_DELAY,
        max_delay: float = MAX_OPEN_DELAY,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger = log,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.host = host
        self.store: BreakerStore = store if store is not None else MemoryStore()
        self.threshold = threshold
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.clock = clock
        self.log = logger

    # -- state --------------------------------------------------------------------------------

    def snapshot(self) -> BreakerState:
        return self.store.get(self.host) or BreakerState()

    @property
    def state(self) -> str:
        return self.snapshot().state

    def _delay(self, trips: int) -> float:
        return min(self.base_delay * 2**trips, self.max_delay)

    # -- the protocol -------------------------------------------------------------------------

    def allow(self) -> bool:
        """May a call go to the host now? An open breaker past ``retry_at`` turns half-open
        and lets this call through as the probe."""
        s = self.snapshot()
        if s.state == CLOSED or s.state == HALF_OPEN:
            return True
        now = self.clock()
        if s.retry_at is not None and now >= s.retry_at:
            s.state, s.changed_at = HALF_OPEN, now
            self.store.set(self.host, s)
            self.log.debug("%s: breaker half-open, probing", self.host)
            return True
        return False

    def check(self) -> None:
        """``allow()`` or raise ``HostDown``."""
        if not self.allow():
            s = self.snapshot()
            raise HostDown(self.host, s.retry_at or self.clock(), s.last_error)

    def record_success(self) -> None:
        s = self.snapshot()
        if s.state == CLOSED and s.failures == 0:
            return
        if s.state != CLOSED:
            down_for = self.clock() - (s.opened_at or self.clock())
            self.log.warning("%s: host is back, breaker closed (was down %.0f s)", self.host, down_for)
        self.store.set(self.host, BreakerState(changed_at=self.clock()))

    def record_failure(self, reason: str = "") -> BreakerState:
        """Count one network failure; returns the new state (``.state == OPEN`` once open)."""
        s = self.snapshot()
        now = self.clock()
        s.failures += 1
        s.last_error = reason[:200]
        if s.state == HALF_OPEN:
            s.trips += 1
            delay = self._delay(s.trips)
            s.state, s.retry_at, s.changed_at = OPEN, now + delay, now
            self.log.warning("%s: probe failed (%s); still down, next probe in %.0f s", self.host, s.last_error, delay)
        elif s.state == CLOSED and s.failures >= self.threshold:
            delay = self._delay(0)
            s.state, s.trips, s.opened_at, s.retry_at, s.changed_at = OPEN, 0, now, now + delay, now
            self.log.warning(
                "%s: %d consecutive network failures (%s); breaker open, skipping the host for %.0f s",
                self.host,
                s.failures,
                s.last_error,
                delay,
            )
        self.store.set(self.host, s)
        return s


class Breakers:
    """One ``CircuitBreaker`` per host over a shared store: ``breakers.for_host("bybit")``."""

    def __init__(self, store: BreakerStore | None = None, **options) -> None:
        self.store: BreakerStore = store if store is not None else MemoryStore()
        self.options = options

    def for_host(self, host: str) -> CircuitBreaker:
        return CircuitBreaker(host, store=self.store, **self.options)

    __call__ = for_host


def retry_call(
    call: Callable[[], T],
    *,
    transient: tuple[type[BaseException], ...],
    retries: int = 2,
    backoff_base: float = 1.0,
    max_delay: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    breaker: CircuitBreaker | None = None,
    what: str = "call",
    delay_for: Callable[[BaseException], float | None] | None = None,
    on_attempt: Callable[[], None] | None = None,
) -> T:
    """``call()`` with up to ``retries`` retries after a ``transient`` error.

    The n-th retry waits ``delay_for(exc)`` (e.g. a ``Retry-After``) or ``backoff_base * 2**(n-1)``
    seconds, capped at ``max_delay``, through ``sleep``. With a ``breaker``: an open breaker
    raises ``HostDown`` before any attempt; each transient failure is counted on it and the
    retries stop as soon as it opens (the last error is raised); any completed call (a reply,
    even an error reply) closes it. Raises the last transient error once the retries are used up,
    and any other exception at once. ``on_attempt`` is called before each attempt (counting).
    """
    if breaker is not None:
        breaker.check()
    attempt = 0
    while True:
        if on_attempt is not None:
            on_attempt()
        try:
            result = call()
        except transient as exc:
            opened = False
            if breaker is not None:
                opened = breaker.record_failure(f"{type(exc).__name__}: {exc}").state == OPEN
            if opened or attempt >= retries:
                raise
            delay = min((delay_for(exc) if delay_for else None) or backoff_base * 2**attempt, max_delay)
            attempt += 1
            log.debug("%s: %s (%s); retry %d/%d in %.1f s", what, type(exc).__name__, exc, attempt, retries, delay)
            sleep(delay)
        except Exception:
            if breaker is not None:
                breaker.record_success()  # the host answered: it is up, whatever it said
            raise
        else:
            if breaker is not None:
                breaker.record_success()
            return result
