"""The tick retention job: ticks older than ``MARKETS["TICK_RETENTION_DAYS"]`` deleted in batches,
newer ones and the candles kept; run by the beat and tracked in JobStatus. The tick values are
made up for the test (storage behaviour only); they are not market data."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from markets import services
from markets.models import Candle, Instrument, JobStatus, Tick
from markets.tasks import TICK_RETENTION_JOB, ticks_retention
from tradesite import schedule
from tradesite.inline_beat import run_due_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def future():
    return Instrument.objects.create(
        market="krx_derivatives", exchange="krx", symbol="101W09", base="101W09", quote="KRW", kind="future"
    )


def make_ticks(instrument, ages_days: list[float], *, now: datetime) -> list[Tick]:
    ticks = []
    for n, age in enumerate(ages_days, start=1):
        when = now - timedelta(days=age)
        ticks.append(
            Tick(
                instrument=instrument,
                kind="trade" if n % 2 else "quote",
                session_date=when.date(),
                sequence=n,
                exchange_time=when,
                received_time=when,
                price=Decimal("430") if n % 2 else None,
                size=Decimal("1") if n % 2 else None,
                source="kis",
            )
        )
    services.tick_insert_many(ticks=ticks)
    return ticks


def test_purge_deletes_only_ticks_before_the_cutoff_in_batches(future):
    now = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    make_ticks(future, [45, 40, 31, 30.5, 29.99, 10, 0], now=now)
    Candle.objects.create(
        instrument=future, interval="1m", open_time=now - timedelta(days=40), open=1, high=1, low=1, close=1, volume=1
    )
    keep = set(Tick.objects.filter(exchange_time__gte=now - timedelta(days=30)).values_list("pk", flat=True))

    deleted = services.ticks_purge(older_than=now - timedelta(days=30), batch_size=2)  # 4 old: two batches

    assert deleted == 4
    assert set(Tick.objects.values_list("pk", flat=True)) == keep and len(keep) == 3
    assert Candle.objects.filter(instrument=future).count() == 1  # bars outlive their ticks
    assert services.ticks_purge(older_than=now - timedelta(days=30)) == 0  # a rerun changes nothing


def test_the_beat_runs_the_retention_job_with_the_setting(future):
    now = timezone.now()
    make_ticks(future, [8, 6, 1], now=now)
    call_command("setup_periodic_tasks")
    with override_settings(MARKETS={**settings.MARKETS, "TICK_RETENTION_DAYS": 7}):
        ran = run_due_tasks(now=now, only=[TICK_RETENTION_JOB])
    assert ran == [TICK_RETENTION_JOB]
    assert Tick.objects.count() == 2
    status = JobStatus.objects.get(job=TICK_RETENTION_JOB, venue="")
    assert status.rows_written == 1 and status.last_success_at is not None


def test_retention_below_one_day_is_refused_and_deletes_nothing(future):
    make_ticks(future, [40, 1], now=timezone.now())
    with override_settings(MARKETS={**settings.MARKETS, "TICK_RETENTION_DAYS": 0}), pytest.raises(ValueError):
        ticks_retention()
    assert Tick.objects.count() == 2
    assert JobStatus.objects.get(job=TICK_RETENTION_JOB).failures == 1


def test_the_job_is_in_the_schedule_with_time_limits():
    job = schedule.job_named(TICK_RETENTION_JOB)
    assert job is not None and job.task == "markets.tasks.ticks_retention" and not job.live
    assert 0 < job.soft_time_limit < job.time_limit <= 3600  # ends before it is due again (hourly)


def test_tick_admin_lists_ticks_read_only_and_deletable(client, future, django_user_model):
    admin = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-not-used-1")
    client.force_login(admin)
    make_ticks(future, [1], now=timezone.now())
    listing = client.get("/admin/markets/tick/")
    assert listing.status_code == 200 and "101W09" in listing.content.decode()
    assert client.get("/admin/markets/tick/add/").status_code == 403
    tick = Tick.objects.get()
    assert client.post(f"/admin/markets/tick/{tick.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not Tick.objects.exists()
