"""The demo's stand-in for a Celery worker + beat: run the due django-celery-beat entries eagerly.

``make demo`` has no broker (DESIGN: embedded default, eager Celery), yet the periodic jobs
(expiring DAY orders, ETL, bot checks, snapshots, predictions) should still happen. This loop
reads the same ``PeriodicTask`` table that ``celery beat`` uses in production, asks each entry's
Celery schedule whether it is due (Celery's own ``is_due``), and runs the task in-process with
``Task.apply``. Production runs ``celery -A tradesite worker`` and ``beat`` instead.
"""

import asyncio
import json
import logging
import threading
from datetime import UTC, datetime

from django.db.models import F

logger = logging.getLogger(__name__)


def run_due_tasks(*, now: datetime | None = None, only: list[str] | None = None) -> list[str]:
    """Run every enabled periodic task that is due (``only``: of these names); return the names
    of those run.

    A task that fails is logged with its traceback and counted as run (beat would not retry
    it either); the others still run.
    """
    from django_celery_beat.models import PeriodicTask

    from tradesite.celery import app

    app.loader.import_default_modules()
    now = now or datetime.now(UTC)
    ran = []
    entries = PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab", "solar", "clocked")
    if only is not None:
        entries = entries.filter(name__in=only)
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
        result = task.apply(args=json.loads(entry.args or "[]"), kwargs=json.loads(entry.kwargs or "{}"))
        if result.failed():
            logger.error("periodic task %r failed:\n%s", entry.name, result.traceback)
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


async def run_inline_beat(*, poll_seconds: float = 30.0) -> None:
    """Check the schedule every ``poll_seconds`` until cancelled (the jobs run in a thread)."""
    while True:
        try:
            ran = await _in_daemon_thread(run_due_tasks)
            if ran:
                logger.info("ran periodic tasks: %s", ", ".join(ran))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("inline beat failed; trying again in %.0f s", poll_seconds)
        await asyncio.sleep(poll_seconds)
