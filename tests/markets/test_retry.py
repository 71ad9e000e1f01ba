"""The one retry helper and the per-host circuit breaker (markets.sources.retry), on a fake clock."""

import logging

import pytest

from markets.sources.retry import (
    CLOSED,
    HALF_OPEN,
    MAX_OPEN_DELAY,
    OPEN,
    Breakers,
    CircuitBreaker,
    HostDown,
    MemoryStore,
    retry_call,
)


class Clock:
    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Sleeps:
    def __init__(self, clock: Clock | None = None):
        self.calls: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock:
            self.clock.t += seconds


class Down:
    """A call that fails with ConnectionError while ``down``; counts the attempts."""

    def __init__(self):
        self.down = True
        self.attempts = 0

    def __call__(self):
        self.attempts += 1
        if self.down:
            raise ConnectionError("connection refused")
        return "pong"


def state_lines(caplog):
    return [r for r in caplog.records if r.name == "markets.sources.retry" and r.levelno >= logging.INFO]


def test_retry_backs_off_exponentially_with_a_cap_and_only_for_transient_errors():
    sleep = Sleeps()
    call = Down()
    with pytest.raises(ConnectionError):
        retry_call(call, transient=(ConnectionError,), retries=5, backoff_base=1.0, max_delay=5.0, sleep=sleep)
    assert call.attempts == 6 and sleep.calls == [1.0, 2.0, 4.0, 5.0, 5.0]

    def bad():
        raise KeyError("bad symbol")

    sleep = Sleeps()
    with pytest.raises(KeyError):
        retry_call(bad, transient=(ConnectionError,), retries=5, sleep=sleep)
    assert sleep.calls == []


def test_retry_obeys_a_delay_the_error_names():
    class RateLimited(Exception):
        retry_after = 7.0

    replies = [RateLimited(), "ok"]

    def call():
        item = replies.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    sleep = Sleeps()
    assert retry_call(call, transient=(RateLimited,), sleep=sleep, delay_for=lambda e: e.retry_after) == "ok"
    assert sleep.calls == [7.0]


def test_breaker_opens_skips_half_opens_and_closes(caplog):
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    sleep = Sleeps(clock)
    breaker = CircuitBreaker("bybit", threshold=3, base_delay=60, clock=clock)
    call = Down()

    # one call, retried: the third consecutive failure opens the breaker and stops the retries
    with pytest.raises(ConnectionError):
        retry_call(call, transient=(ConnectionError,), retries=5, sleep=sleep, breaker=breaker)
    assert call.attempts == 3 and sleep.calls == [1.0, 2.0]
    assert breaker.state == OPEN
    opened_at = clock.t
    assert breaker.snapshot().retry_at == opened_at + 60

    # open: skipped without an attempt
    clock.t += 59
    with pytest.raises(HostDown) as down:
        retry_call(call, transient=(ConnectionError,), breaker=breaker, sleep=sleep)
    assert call.attempts == 3 and down.value.host == "bybit" and down.value.retry_at == opened_at + 60

    # past retry_at: one probe (half-open); it fails -> open again, the wait doubled
    clock.t = opened_at + 60
    with pytest.raises(ConnectionError):
        retry_call(call, transient=(ConnectionError,), retries=5, breaker=breaker, sleep=sleep)
    assert call.attempts == 4  # the probe only, no retries while half-open
    assert breaker.state == OPEN and breaker.snapshot().retry_at == clock.t + 120

    # the next probe succeeds: closed, counters reset
    clock.t += 120
    assert breaker.allow() and breaker.state == HALF_OPEN
    call.down = False
    assert retry_call(call, transient=(ConnectionError,), breaker=breaker, sleep=sleep) == "pong"
    s = breaker.snapshot()
    assert (s.state, s.failures, s.trips, s.retry_at) == (CLOSED, 0, 0, None)

    # one line per state change: opened, probe failed, closed; no traceback, no line per retry
    lines = state_lines(caplog)
    assert [r.getMessage().split(":")[1].strip().split(" ")[0] for r in lines] == ["3", "probe", "host"]
    assert "breaker open" in lines[0].getMessage() and "closed" in lines[2].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


def test_the_open_wait_doubles_up_to_thirty_minutes():
    clock = Clock()
    breaker = CircuitBreaker("upbit", threshold=1, base_delay=60, clock=clock)
    breaker.record_failure("down")
    waits = []
    for _ in range(8):
        clock.t = breaker.snapshot().retry_at
        assert breaker.allow()
        s = breaker.record_failure("still down")
        waits.append(s.retry_at - clock.t)
    assert waits == [120, 240, 480, 960, MAX_OPEN_DELAY, MAX_OPEN_DELAY, MAX_OPEN_DELAY, MAX_OPEN_DELAY]
    assert MAX_OPEN_DELAY == 1800


def test_an_error_reply_means_the_host_is_up():
    clock = Clock()
    breaker = CircuitBreaker("bithumb", threshold=3, clock=clock)
    breaker.record_failure("timeout")
    breaker.record_failure("timeout")

    def rejected():
        raise ValueError("bad symbol")

    with pytest.raises(ValueError):
        retry_call(rejected, transient=(ConnectionError,), breaker=breaker)
    assert breaker.snapshot().failures == 0 and breaker.state == CLOSED


def test_breakers_share_their_store_per_host():
    clock = Clock()
    store = MemoryStore()
    one, other = Breakers(store, threshold=2, clock=clock), Breakers(store, threshold=2, clock=clock)
    one.for_host("bitmex").record_failure("x")
    other.for_host("bitmex").record_failure("x")
    assert one.for_host("bitmex").state == OPEN  # two "processes", one count
    assert one.for_host("bybit").state == CLOSED
    assert store.hosts() == ["bitmex"]


def test_a_long_outage_logs_a_bounded_number_of_lines(caplog):
    # a call a minute for 10 minutes to a host that stays down
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    sleep = Sleeps(clock)
    breaker = CircuitBreaker("binanceusdm", clock=clock)
    call = Down()
    start = clock.t
    for minute in range(10):
        clock.t = start + 60 * minute
        with pytest.raises((ConnectionError, HostDown)):
            retry_call(call, transient=(ConnectionError,), retries=2, breaker=breaker, sleep=sleep)
    # opened (after 3 s of retries), then probes at +2, +4 and +8 minutes
    assert len(state_lines(caplog)) == 4
    assert call.attempts == 3 + 3


def test_ccxt_source_consults_its_exchange_breaker():
    import ccxt
    import requests
    import responses

    from markets.sources.ccxt_source import CcxtSource, HostUnavailable

    clock = Clock()
    breakers = Breakers(threshold=3, clock=clock)
    src = CcxtSource("bithumb", config={"options": {"generation": 1}}, sleep=Sleeps(clock), breakers=breakers)
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            "https://api.bithumb.com/public/ticker/ALL_KRW",
            body=requests.ConnectionError("connection refused"),
        )
        with pytest.raises(ccxt.NetworkError):
            src.tickers()
        assert len(rs.calls) == 3  # the breaker opened on the third failure: no more retries
        with pytest.raises(HostUnavailable) as skipped:
            src.tickers()
        assert len(rs.calls) == 3  # skipped without a request
    assert isinstance(skipped.value, ccxt.NetworkError) and skipped.value.host == "bithumb"
    assert breakers.for_host("bithumb").state == OPEN
