"""Every periodic job of tradesite, in one list.

``manage.py setup_periodic_tasks`` installs these into django-celery-beat's tables (what
``celery beat`` with the DatabaseScheduler and the demo's ``tradesite.inline_beat`` read). It
is idempotent: a job is created when missing; an existing one gets the task and schedule written
here but keeps its ``enabled`` flag, so an operator who paused a job in the admin keeps it paused.

Each entry: ``name`` (the admin's label, the key), ``task`` (a Celery task name) and either
``every`` + ``period`` (an interval) or ``crontab`` (fields of ``CrontabSchedule``, with its
``timezone``). Adding a job: write its task in ``<app>/tasks.py`` and one entry here.

Time limits: ``soft_time_limit`` / ``time_limit`` (seconds) per job, applied to its task (and to
the tasks it queues, ``queues``) as Celery task annotations (``task_annotations()``, read by
``tradesite.celery``), so a worker stops a job that overruns rather than letting it starve the
others; the demo's inline beat runs each job in its own thread and reports an overrun.

``live=True`` marks a job that reaches an exchange over the network. In the demo
(``settings.DEMO``) those run only with ``LIVE_DATA=1`` (``jobs_off()`` says which are off and
why; the inline beat skips them and ``manage.py serve`` prints it at startup).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    every: int | None = None
    period: str | None = None  # "seconds" | "minutes" | "hours" | "days"
    crontab: dict = field(default_factory=dict)
    soft_time_limit: int = 60  # seconds: SoftTimeLimitExceeded is raised in the task
    time_limit: int = 90  # seconds: the worker process running the task is killed
    live: bool = False  # reaches an exchange over the network
    queues: tuple[str, ...] = ()  # tasks this job queues, given the same limits


SEOUL_CRON = {"day_of_week": "*", "day_of_month": "*", "month_of_year": "*", "timezone": "Asia/Seoul"}

JOBS: list[Job] = [
    Job(
        "trading: expire DAY orders",
        "trading.tasks.expire_day_orders",
        every=1,
        period="minutes",
        soft_time_limit=40,
        time_limit=55,
    ),
    # lots' exit after N sessions: due shortly before the Nth KRX close (or at a crypto day boundary)
    Job(
        "trading: exit lots after N sessions",
        "trading.tasks.exit_lots",
        every=1,
        period="minutes",
        soft_time_limit=40,
        time_limit=55,
    ),
    Job(
        "trading: daily equity snapshot",
        "trading.tasks.snapshot_equity",
        crontab={**SEOUL_CRON, "minute": "59", "hour": "23"},
        soft_time_limit=240,
        time_limit=300,
    ),
    # every 15 s rather than a crontab per day boundary: one schedule serves Bithumb's 00:00 KST,
    # Upbit's 09:00 KST and KRX session opens; a missed check is made up at the next run
    Job(
        "trading: breakout bots (day roll, entries)",
        "bots.tasks.bots_check",
        every=15,
        period="seconds",
        soft_time_limit=10,
        time_limit=14,
    ),
    Job(
        "trading: refresh the bots' daily candles",
        "bots.tasks.bots_refresh_candles",
        every=5,
        period="minutes",
        soft_time_limit=120,
        time_limit=150,
        live=True,
    ),
    Job(
        "etl: taker volume live",
        "etl.tasks.taker_volume_live_all",
        every=1,
        period="minutes",
        soft_time_limit=45,
        time_limit=55,
        live=True,
        queues=("etl.tasks.taker_volume_live_pair",),
    ),
    Job(
        "etl: staged trades purge",
        "etl.tasks.staged_trades_purge",
        every=1,
        period="hours",
        soft_time_limit=240,
        time_limit=300,
    ),
    # after the KRX close and the after-hours session, when the day's candles are final;
    # holidays are skipped by the service (XKRX calendar)
    Job(
        "predictions: daily KRX predictions",
        "predictions.daily_predictions",
        crontab={**SEOUL_CRON, "minute": "30", "hour": "18", "day_of_week": "1-5"},
        soft_time_limit=1500,
        time_limit=1800,
    ),
    # ticks past MARKETS["TICK_RETENTION_DAYS"] deleted in batches (1-minute candles stay)
    Job(
        "markets: tick retention",
        "markets.tasks.ticks_retention",
        every=1,
        period="hours",
        soft_time_limit=600,
        time_limit=660,
    ),
    # candles from the last stored one on: 1d for every coin in use, 1h for the board
    Job(
        "markets: candle crawl",
        "tradesite.tasks.candles_crawl",
        every=15,
        period="minutes",
        soft_time_limit=240,
        time_limit=300,
        live=True,
    ),
]


def task_annotations(jobs: list[Job] = JOBS) -> dict[str, dict[str, int]]:
    """Celery ``task_annotations``: each job's task (and the tasks it queues) with its limits."""
    out: dict[str, dict[str, int]] = {}
    for job in jobs:
        for task in (job.task, *job.queues):
            out[task] = {"soft_time_limit": job.soft_time_limit, "time_limit": job.time_limit}
    return out


LIVE_OFF_REASON = "live data is off in the demo (set LIVE_DATA=1 to run it)"


def jobs_off(jobs: list[Job] = JOBS) -> dict[str, str]:
    """The jobs that must not run here, by name, with the reason: in the demo
    (``settings.DEMO``) the ``live`` jobs unless ``settings.LIVE_DATA``."""
    from django.conf import settings

    if getattr(settings, "DEMO", False) and not getattr(settings, "LIVE_DATA", False):
        return {job.name: LIVE_OFF_REASON for job in jobs if job.live}
    return {}


def job_named(name: str, jobs: list[Job] = JOBS) -> Job | None:
    return next((job for job in jobs if job.name == name), None)


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
