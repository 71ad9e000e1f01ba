"""Freshness you can see: JobStatus written around each periodic job, /api/v1/status/, its admin
page, /healthz and /readyz."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from markets import breakers
from markets.jobs import job_run, tracked
from markets.models import Candle, Instrument, JobStatus
from tests.accounts.factories import UserFactory
from tradesite import health, schedule

pytestmark = pytest.mark.django_db


def instrument(symbol, exchange="upbit", active=True):
    return Instrument.objects.create(
        market="crypto", exchange=exchange, symbol=symbol, base=symbol.split("/")[0], quote="KRW", active=active
    )


def candle(inst, interval, open_time):
    p = Decimal("100")
    return Candle.objects.create(
        instrument=inst, interval=interval, open_time=open_time, open=p, high=p, low=p, close=p, volume=Decimal(1)
    )


def test_job_run_records_success_rows_and_failure_reason():
    with job_run("etl: staged trades purge") as run:
        run.rows = 12
    status = JobStatus.objects.get(job="etl: staged trades purge", venue="")
    assert (status.runs, status.rows_written, status.rows_total, status.failures) == (1, 12, 12, 0)
    assert status.last_success_at is not None and status.last_failure_at is None

    with pytest.raises(ConnectionError), job_run("etl: staged trades purge") as run:
        run.rows = 5
        raise ConnectionError("connection refused")
    status.refresh_from_db()
    assert (status.runs, status.failures, status.consecutive_failures) == (2, 1, 1)
    assert status.last_error == "ConnectionError: connection refused"
    assert (status.rows_written, status.rows_total) == (12, 12)  # a failed run wrote nothing


def test_tracked_counts_an_int_result_and_keeps_the_name():
    @tracked("demo job", venue="bybit")
    def job():
        return 3

    assert job() == 3 and job.__name__ == "job" and job.tracked_job == "demo job"
    assert JobStatus.objects.get(job="demo job", venue="bybit").rows_written == 3


def test_every_scheduled_job_records_its_status():
    from tradesite.celery import app

    app.loader.import_default_modules()
    for job in schedule.JOBS:
        assert getattr(app.tasks[job.task].run, "tracked_job", None) == job.name, job.name


def test_a_periodic_task_writes_its_status():
    from trading.tasks import expire_day_orders

    expire_day_orders.apply()
    status = JobStatus.objects.get(job="trading: expire DAY orders")
    assert status.runs == 1 and status.last_success_at is not None and status.rows_written == 0


def test_status_lists_jobs_breakers_and_the_stalest_instrument_per_interval(api_client, monkeypatch):
    clock = [datetime(2026, 12, 3, 0, 0, tzinfo=UTC).timestamp()]
    monkeypatch.setattr(breakers, "now", lambda: clock[0])
    with pytest.raises(ConnectionError), job_run("etl: taker volume live", venue="bybit"):
        raise ConnectionError("connection refused")
    with job_run("etl: taker volume live", venue="bitmex") as run:
        run.rows = 4
    bybit = breakers.breaker_for("bybit")
    for _ in range(3):
        bybit.record_failure("ConnectionError: connection refused")
    day = datetime(2026, 12, 1, tzinfo=UTC)
    btc, eth, old = instrument("BTC/KRW"), instrument("ETH/KRW"), instrument("OLD/KRW", active=False)
    candle(btc, "1d", day)
    candle(eth, "1d", day - timedelta(days=2))
    candle(eth, "1d", day - timedelta(days=1))
    candle(old, "1d", day - timedelta(days=30))  # delisted: not a freshness problem
    candle(btc, "1h", day + timedelta(hours=5))

    response = api_client.get("/api/v1/status/")

    assert response.status_code == 200
    body = response.json()
    jobs = {(j["job"], j["venue"]): j for j in body["jobs"]}
    failing = jobs[("etl: taker volume live", "bybit")]
    assert failing["state"] == "failing" and failing["last_error"] == "ConnectionError: connection refused"
    assert failing["last_failure_at"] and failing["last_success_at"] is None
    ok = jobs[("etl: taker volume live", "bitmex")]
    assert ok["state"] == "ok" and ok["rows_written"] == 4
    hosts = {b["host"]: b for b in body["breakers"]}
    assert hosts["bybit"]["state"] == "open" and hosts["bybit"]["failures"] == 3
    assert hosts["bybit"]["retry_at"].startswith("2026-12-03T00:01:00")
    assert hosts["upbit"]["state"] == "closed" and hosts["upbit"]["retry_at"] is None
    stalest = {s["interval"]: s for s in body["stalest"]}
    assert stalest["1d"]["symbol"] == "ETH/KRW" and stalest["1d"]["last_open_time"].startswith("2026-11-30")
    assert stalest["1h"]["symbol"] == "BTC/KRW"
    age = (timezone.now() - (day - timedelta(days=1))).total_seconds()
    assert abs(stalest["1d"]["age_seconds"] - age) < 5


def test_status_changes_nothing(api_client):
    api_client.get("/api/v1/status/")
    assert JobStatus.objects.count() == 0


def test_admin_page_lists_job_statuses_and_breakers(client, monkeypatch):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with pytest.raises(RuntimeError), job_run("etl: taker volume live", venue="bithumb"):
        raise RuntimeError("bad reply")
    monkeypatch.setattr(breakers, "now", lambda: 1_800_000_000.0)
    b = breakers.breaker_for("bithumb")
    for _ in range(3):
        b.record_failure("timeout")

    page = client.get("/admin/markets/jobstatus/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "bad reply" in html and 'id="breakers"' in html
    assert "KST" in html  # the next probe shown in Asia/Seoul
    assert client.get("/admin/markets/jobstatus/add/").status_code == 403


def test_healthz_answers_plain_text(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert response["Content-Type"].startswith("text/plain")


def test_readyz_checks_the_database_and_the_channel_layer(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.content == b"ready\n"


def test_readyz_is_503_with_the_reason_when_a_dependency_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "get_channel_layer", lambda: None)

    def db_down():
        from django.db import OperationalError

        raise OperationalError("could not connect to server")

    monkeypatch.setitem(health.CHECKS, "database", db_down)
    response = client.get("/readyz")
    assert response.status_code == 503
    text = response.content.decode()
    assert "database: OperationalError: could not connect to server" in text
    assert "channel layer: RuntimeError: no channel layer configured" in text
