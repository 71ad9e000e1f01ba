"""Each periodic job's latest outcome in ``JobStatus``: ``job_run`` (a context manager) and
``tracked`` (a decorator for Celery task functions).

    @shared_task
    @tracked("etl: staged trades purge")          # rows written = the int the task returns
    def staged_trades_purge() -> int: ...

    with job_run("etl: taker volume live", venue="bybit") as run:
        run.rows = ...                            # rows this run wrote

A run that raises is recorded as a failure with its reason (``Type: message``) and the error
re-raised; the status row is written outside any transaction of the job (the job's own
rollback must not erase the record of its failure).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import F
from django.utils import timezone

from markets.models import JobStatus

F_ = TypeVar("F_", bound=Callable[..., Any])


@dataclass
class Run:
    job: str
    venue: str = ""
    rows: int = 0


def _status(job: str, venue: str) -> JobStatus:
    status, _ = JobStatus.objects.get_or_create(job=job, venue=venue)
    return status


@contextmanager
def job_run(job: str, *, venue: str = "") -> Iterator[Run]:
    """Record one run of ``job`` (for ``venue``): its start, then its success (``run.rows``
    written) or its failure (the exception's type and message)."""
    run = Run(job=job, venue=venue)
    status = _status(job, venue)
    started, clock = timezone.now(), time.monotonic()
    JobStatus.objects.filter(pk=status.pk).update(last_started_at=started)
    try:
        yield run
    except Exception as exc:
        JobStatus.objects.filter(pk=status.pk).update(
            last_failure_at=timezone.now(),
            last_error=f"{type(exc).__name__}: {exc}"[:1000],
            last_duration_ms=int((time.monotonic() - clock) * 1000),
            runs=F("runs") + 1,
            failures=F("failures") + 1,
            consecutive_failures=F("consecutive_failures") + 1,
        )
        raise
    JobStatus.objects.filter(pk=status.pk).update(
        last_success_at=timezone.now(),
        last_duration_ms=int((time.monotonic() - clock) * 1000),
        rows_written=max(0, int(run.rows)),
        rows_total=F("rows_total") + max(0, int(run.rows)),
        runs=F("runs") + 1,
        consecutive_failures=0,
    )


def tracked(job: str, *, venue: str = "", rows: bool = True) -> Callable[[F_], F_]:
    """Run the decorated function inside ``job_run(job, venue=venue)``; an ``int`` result is
    the rows written (unless ``rows=False``: it counts something else). The wrapper keeps the function's name (so the Celery task name) and
    carries ``tracked_job``."""

    def decorate(func: F_) -> F_:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with job_run(job, venue=venue) as run:
                result = func(*args, **kwargs)
                if rows and isinstance(result, int) and not isinstance(result, bool):
                    run.rows = result
                return result

        wrapper.tracked_job = job  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
