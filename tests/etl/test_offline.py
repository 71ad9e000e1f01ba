"""The demo with the network gone: the live jobs stay quiet and every periodic job keeps its schedule.

The exchanges are made unreachable for real: every HTTP request of ccxt and of the BitMEX feed
goes to 127.0.0.1:18871, a port nothing listens on (connection refused).
"""

import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.core.cache import cache
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from etl import extract, services
from etl.models import IngestRun
from markets import breakers
from tradesite import schedule
from tradesite.inline_beat import ThreadRunner, import_tasks, run_due_tasks
from tradesite.management.commands.serve import jobs_banner
from tradesite.schedule import JOBS

pytestmark = pytest.mark.django_db

CLOSED_PORT = 18871
LIVE = "etl: taker volume live"
BOTS = "trading: breakout bots (day roll, entries)"
EXPIRE = "trading: expire DAY orders"


@pytest.fixture
def unreachable(monkeypatch):
    """Every requests call goes to a closed local port; returns the list of URLs asked for."""
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", CLOSED_PORT)) != 0, "the test port must be closed"
    asked = []
    original = requests.Session.request

    def request(self, method, url, *args, **kwargs):
        asked.append(url)
        parts = urlsplit(url)
        return original(
            self, method, urlunsplit(("http", f"127.0.0.1:{CLOSED_PORT}", parts.path, parts.query, "")), *args, **kwargs
        )

    monkeypatch.setattr(requests.Session, "request", request)
    # the feeds' backoff sleeps are not waited out (the breaker's clock is the simulated one)
    monkeypatch.setattr(
        services, "feed_for", lambda exchange, **kw: extract.feed_for(exchange, sleep=lambda s: None, **kw)
    )
    return asked


@pytest.fixture(autouse=True)
def tasks_imported():
    # before pytest attaches its log capture: importing the tasks re-runs django.setup()
    import_tasks()


@pytest.fixture(autouse=True)
def demo_celery(eager_celery):
    """The demo's eager Celery, also when the suite runs with a broker (REDIS_URL)."""


@pytest.fixture
def clock(monkeypatch):
    now = [datetime(2026, 12, 3, 0, 0, tzinfo=UTC)]
    monkeypatch.setattr(breakers, "now", lambda: now[0].timestamp())
    cache.clear()
    yield now
    cache.clear()


def test_ten_offline_minutes_log_few_lines_and_keep_every_schedule(settings, unreachable, clock, caplog):
    settings.DEMO, settings.LIVE_DATA = True, True
    settings.ETL = {"LIVE_PAIRS": "binance:BTCUSDT,bybit:BTCUSDT,bitmex:XBTUSD,bithumb:BTC_KRW"}
    call_command("setup_periodic_tasks")
    PeriodicTask.objects.update(last_run_at=None)
    caplog.set_level(logging.INFO)
    start = clock[0]
    ran = []
    for step in range(40):  # 10 minutes, the scheduler looking every 15 s
        clock[0] = start + timedelta(seconds=15 * step)
        ran += run_due_tasks(now=clock[0], only=[LIVE, BOTS, EXPIRE])

    assert ran.count(LIVE) == 10 and ran.count(EXPIRE) == 10 and ran.count(BOTS) == 40
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) < 20, [r.getMessage() for r in lines]
    # one line when each host goes down, one per failed probe (after 1, 3 and 7 minutes)
    assert len([r for r in lines if r.name == "markets.sources.retry"]) == 4 * 4
    assert all(r.exc_info is None for r in lines)
    # 3 attempts per exchange in the first minute, then one probe per exchange per probe time
    assert len(unreachable) == 4 * 3 + 4 * 3
    assert all(breakers.breaker_for(host).state == "open" for host in ("binanceusdm", "bybit", "bitmex", "bithumb"))
    # only the runs that asked the network are recorded (the skipped minutes write nothing)
    assert IngestRun.objects.filter(status="failed").count() == 4 * 4


def test_without_live_data_the_demo_does_not_run_the_live_jobs(settings, unreachable, clock):
    settings.DEMO, settings.LIVE_DATA = True, False
    call_command("setup_periodic_tasks")
    PeriodicTask.objects.update(last_run_at=None)

    ran = run_due_tasks(now=clock[0], only=[LIVE, BOTS, EXPIRE, "trading: refresh the bots' daily candles"])

    assert sorted(ran) == sorted([BOTS, EXPIRE])
    assert unreachable == [] and IngestRun.objects.count() == 0
    assert PeriodicTask.objects.get(name=LIVE).last_run_at is None
    banner = "\n".join(jobs_banner())
    live_jobs = [job for job in JOBS if job.live]
    assert len(live_jobs) == 3  # taker volume, the bots' candles, the candle crawl
    assert f"periodic jobs: {len(JOBS) - len(live_jobs)} of {len(JOBS)}" in banner
    assert f"off: {LIVE}: live data is off in the demo (set LIVE_DATA=1 to run it)" in banner


def test_live_jobs_run_outside_the_demo_or_with_live_data(settings):
    settings.DEMO, settings.LIVE_DATA = False, False
    assert schedule.jobs_off() == {}
    settings.DEMO, settings.LIVE_DATA = True, True
    assert schedule.jobs_off() == {}
    assert jobs_banner() == [f"periodic jobs: {len(JOBS)} of {len(JOBS)} run in this process"]


def test_every_job_carries_soft_and_hard_time_limits():
    from tradesite.celery import app

    app.loader.import_default_modules()
    for job in schedule.JOBS:
        task = app.tasks[job.task]
        assert 0 < task.soft_time_limit < task.time_limit == job.time_limit, job.name
    assert app.tasks["etl.tasks.taker_volume_live_pair"].time_limit == schedule.job_named(LIVE).time_limit
    # the 15-second bot check must end before its next run is due
    assert schedule.job_named(BOTS).time_limit < 15


def test_a_slow_job_does_not_hold_up_the_others(caplog):
    runner = ThreadRunner()
    release = threading.Event()
    done = []
    assert runner(LIVE, release.wait)
    assert runner(BOTS, lambda: done.append("bots"))
    assert not runner(LIVE, release.wait)  # still running: not started twice
    deadline = time.monotonic() + 5
    while not done and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done == ["bots"]
    release.set()
    runner.running[LIVE][0].join(5)
    assert runner(LIVE, lambda: None)  # finished: starts again
