"""Every periodic job of tradesite, in one list.

``manage.py setup_periodic_tasks`` installs these into django-celery-beat's tables (what
``celery beat`` with the DatabaseScheduler and the demo's ``tradesite.inline_beat`` read). It
is idempotent: a job is created when missing; an existing one gets the task and schedule written
here but keeps its ``enabled`` flag, so an operator who paused a job in the admin keeps it paused.

Each entry: ``name`` (the admin's label, the key), ``task`` (a Celery task name) and either
``every`` + ``period`` (an interval) or ``crontab`` (fields of ``CrontabSchedule``, with its
``timezone``). Adding a job: write its task in ``<app>/tasks.py`` and one entry here.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    every: int | None = None
    period: str | None = None  # "seconds" | "minutes" | "hours" | "days"
    crontab: dict = field(default_factory=dict)


SEOUL_CRON = {"day_of_week": "*", "day_of_month": "*", "month_of_year": "*", "timezone": "Asia/Seoul"}

JOBS: list[Job] = [
    Job("trading: expire DAY orders", "trading.tasks.expire_day_orders", every=1, period="minutes"),
    # lots' exit after N sessions: due shortly before the Nth KRX close (or at a crypto day boundary)
    Job("trading: exit lots after N sessions", "trading.tasks.exit_lots", every=1, period="minutes"),
    Job(
        "trading: daily equity snapshot",
        "trading.tasks.snapshot_equity",
        crontab={**SEOUL_CRON, "minute": "59", "hour": "23"},
    ),
    # every 15 s rather than a crontab per day boundary: one schedule serves Bithumb's 00:00 KST,
    # Upbit's 09:00 KST and KRX session opens; a missed check is made up at the next run
    Job("trading: breakout bots (day roll, entries)", "bots.tasks.bots_check", every=15, period="seconds"),
    Job("trading: refresh the bots' daily candles", "bots.tasks.bots_refresh_candles", every=5, period="minutes"),
    Job("etl: taker volume live", "etl.tasks.taker_volume_live_all", every=1, period="minutes"),
    Job("etl: staged trades purge", "etl.tasks.staged_trades_purge", every=1, period="hours"),
    # after the KRX close and the after-hours session, when the day's candles are final;
    # holidays are skipped by the service (XKRX calendar)
    Job(
        "predictions: daily KRX predictions",
        "predictions.daily_predictions",
        crontab={**SEOUL_CRON, "minute": "30", "hour": "18", "day_of_week": "1-5"},
    ),
]


def install(jobs: list[Job] = JOBS) -> tuple[int, int]:
    """Create or update the beat entries of ``jobs``; returns ``(created, updated)``. Keeps each
    existing entry's ``enabled``; tells a running beat that the schedule changed."""
    from django.db import transaction
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

    created = updated = 0
    with transaction.atomic():
        for job in jobs:
            if job.every is not None:
                interval, _ = IntervalSchedule.objects.get_or_create(every=job.every, period=job.period)
                schedule = {"interval": interval, "crontab": None}
            else:
                crontab, _ = CrontabSchedule.objects.get_or_create(**job.crontab)
                schedule = {"crontab": crontab, "interval": None}
            entry = PeriodicTask.objects.filter(name=job.name).first()
            if entry is None:
                PeriodicTask.objects.create(name=job.name, task=job.task, enabled=True, **schedule)
                created += 1
                continue
            changed = (
                entry.task != job.task
                or entry.interval_id != getattr(schedule["interval"], "pk", None)
                or (entry.crontab_id != getattr(schedule["crontab"], "pk", None))
            )
            if changed:
                entry.task, entry.interval, entry.crontab = job.task, schedule["interval"], schedule["crontab"]
                entry.save(update_fields=["task", "interval", "crontab"])
                updated += 1
        PeriodicTasks.update_changed()
    return created, updated
