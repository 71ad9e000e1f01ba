"""The circuit breakers' state in Django's cache (the thin adapter over ``markets.sources.retry``).

``breaker_for(host)`` gives the breaker every job of this deployment shares for ``host`` (a
venue id: ``bithumb``, ``upbit``, ``binanceusdm``, ``bybit``, ``bitmex``...). Its state lives in
the ``default`` cache: with ``REDIS_URL`` set that is Redis, so the worker processes, beat and
the web process see one state per host; the embedded demo's local-memory cache keeps it per
process (the demo runs its jobs in the web process, so that is the one process that matters).
States expire a day after their last change (an hour past the longest open wait).
"""

from __future__ import annotations

import time

from django.core.cache import cache

from markets.sources.retry import Breakers, BreakerState, CircuitBreaker

KEY = "breaker:{host}"
HOSTS_KEY = "breaker:hosts"
TTL = 24 * 3600


def now() -> float:
    """The breakers' clock (epoch seconds); tests replace it."""
    return time.time()


class CacheStore:
    """``BreakerStore`` in Django's cache."""

    def get(self, host: str) -> BreakerState | None:
        raw = cache.get(KEY.format(host=host))
        return BreakerState(**raw) if isinstance(raw, dict) else None

    def set(self, host: str, state: BreakerState) -> None:
        cache.set(KEY.format(host=host), state.as_dict(), TTL)
        hosts = set(cache.get(HOSTS_KEY) or [])
        if host not in hosts:
            cache.set(HOSTS_KEY, sorted(hosts | {host}), TTL)

    def hosts(self) -> list[str]:
        return sorted(cache.get(HOSTS_KEY) or [])


def breakers() -> Breakers:
    """The deployment's breakers (cache-backed, default thresholds, ``now`` as the clock)."""
    return Breakers(CacheStore(), clock=lambda: now())


def breaker_for(host: str) -> CircuitBreaker:
    return breakers().for_host(host)


def breaker_states() -> dict[str, BreakerState]:
    """Every host with a recorded breaker state, by host."""
    store = CacheStore()
    return {host: state for host in store.hosts() if (state := store.get(host)) is not None}
