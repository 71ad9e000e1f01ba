"""The demo's stand-in for a Celery worker + beat: run the due django-celery-beat entries eagerly.

``make demo`` has no broker (DESIGN: embedded default, eager Celery), yet the periodic jobs
(expiring DAY orders, ETL, bot checks, snapshots, predictions) should still happen. This loop
reads the same ``PeriodicTask`` table that ``celery beat`` uses in production, asks each entry's
Celery schedule whether it is due (Celery's own ``is_due``), and runs the task in-process with
``Task.apply``. Production runs ``celery -A tradesite worker`` and ``beat`` instead.

No job starves another: the loop runs each due job in its own thread (``ThreadRunner``) and
does not start a job again while its previous run is still going (it stays due and starts when
that run ends); a run past its soft or hard time limit (``tradesite.schedule``) is reported
once. Jobs that ``schedule.jobs_off()`` names (the live jobs of the demo without
``LIVE_DATA=1``) are not run.
"""

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.db.models import F

logger = logging.getLogger(__name__)


_tasks_imported = False


def import_tasks() -> None:
    """Import every app's tasks once per process (Celery's Django fixup runs ``django.setup()``
    on each call, which reconfigures logging: not something to do every few seconds)."""
    global _tasks_imported
    if not _tasks_imported:
        from tradesite.celery import app

        app.loader.import_default_modules()
        _tasks_imported = True


Runner = Callable[[str, Callable[[], None]], bool]
"""``runner(name, work) -> started``: runs (or starts) ``work``; False when it cannot now."""


def run_inline(name: str, work: Callable[[], None]) -> bool:
    work()
    return True


class ThreadRunner:
    """Starts each job in its own daemon thread; one run per job at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.running: dict[str, tuple[threading.Thread, float]] = {}
        self.reported: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, name: str, work: Callable[[], None]) -> bool:
        with self.lock:
            current = self.running.get(name)
            if current is not None and current[0].is_alive():
                self._report_overrun(name, self.clock() - current[1])
                return False

            def job() -> None:
                from django.db import connections

                try:
                    work()
                finally:
                    connections.close_all()  # this thread's connections

            thread = threading.Thread(target=job, name=f"job: {name}", daemon=True)
            self.running[name] = (thread, self.clock())
            self.reported.pop(name, None)
        thread.start()
        return True

    def _report_overrun(self, name: str, elapsed: float) -> None:
        from tradesite.schedule import job_named

        job = job_named(name)
        if job is None:
            return
        limit = "hard" if elapsed > job.time_limit else "soft" if elapsed > job.soft_time_limit else None
        if limit is not None and self.reported.get(name) != limit:
            self.reported[name] = limit
            seconds = job.time_limit if limit == "hard" else job.soft_time_limit
            logger.warning(
                "periodic task %r is past its %s time limit (%d s); not started again yet", name, limit, seconds
            )


def run_due_tasks(
    *, now: datetime | None = None, only: list[str] | None = None, runner: Runner = run_inline
) -> list[str]:
    """Run every enabled periodic task that is due (``only``: of these names) through
    ``runner`` (default: here, one after the other); return the names of those run (started).

    A task that fails is logged with its traceback and counted as run (beat would not retry
    it either); the others still run. Jobs that ``schedule.jobs_off()`` names are not run.
    A job the runner cannot start now (its previous run is still going) stays due.
    """
    from django_celery_beat.models import PeriodicTask

    from tradesite.celery import app
    from tradesite.schedule import jobs_off

    import_tasks()
    now = now or datetime.now(UTC)
    ran = []
    entries = PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab", "solar", "clocked")
    if only is not None:
        entries = entries.filter(name__in=only)
    off = jobs_off()
    if off:
        entries = entries.exclude(name__in=list(off))
    for entry in entries:
        last = entry.last_run_at or datetime(2000, 1, 1, tzinfo=UTC)
        schedule = entry.schedule
        schedule.nowfun = lambda: now
        due, _ = schedule.is_due(last)
        if not due:
            continue
        task = app.tasks.get(entry.task)
        if task is None:
            logger.warning("periodic task %r names an unknown task %r", entry.name, entry.task)
            continue
        args, kwargs = json.loads(entry.args or "[]"), json.loads(entry.kwargs or "{}")

        def work(task=task, args=args, kwargs=kwargs, name=entry.name) -> None:
            result = task.apply(args=args, kwargs=kwargs)
            if result.failed():
                logger.error("periodic task %r failed:\n%s", name, result.traceback)

        if not runner(entry.name, work):
            continue
        PeriodicTask.objects.filter(pk=entry.pk).update(last_run_at=now, total_run_count=F("total_run_count") + 1)
        ran.append(entry.name)
    return ran


def _in_daemon_thread(func):
    """Await ``func()`` run in a daemon thread: a job stuck in network retries (the live ETL on a
    machine without internet) must not keep the process alive after Ctrl-C."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(method, value):
        if not future.done():
            getattr(future, method)(value)

    def work():
        try:
            outcome = ("set_result", func())
        except BaseException as exc:  # handed to the awaiting coroutine
            outcome = ("set_exception", exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is closed: the server stopped meanwhile
            pass

    threading.Thread(target=work, name="inline-beat", daemon=True).start()
    return future


async def run_inline_beat(*, poll_seconds: float = 5.0) -> None:
    """Check the schedule every ``poll_seconds`` until cancelled (each job in its own thread,
    so the 15-second bot check keeps its schedule next to a slow job)."""
    runner = ThreadRunner()
    while True:
        try:
            ran = await _in_daemon_thread(lambda: run_due_tasks(runner=runner))
            if ran:
                logger.debug("started periodic tasks: %s", ", ".join(ran))  # every 15 s: not at INFO
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("inline beat failed; trying again in %.0f s", poll_seconds)
        await asyncio.sleep(poll_seconds)
