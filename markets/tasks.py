"""Periodic tasks of the market data (entries in ``tradesite/schedule.py``)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from markets import services
from markets.jobs import tracked

TICK_RETENTION_JOB = "markets: tick retention"


@shared_task
@tracked(TICK_RETENTION_JOB)
def ticks_retention() -> int:
    """Delete ticks older than ``MARKETS["TICK_RETENTION_DAYS"]`` days (exchange time), in batches
    of ``MARKETS["TICK_RETENTION_BATCH"]``; returns how many were deleted."""
    days = int(settings.MARKETS["TICK_RETENTION_DAYS"])
    if days < 1:
        raise ValueError(f"MARKETS['TICK_RETENTION_DAYS'] must be at least 1 (is {days})")
    return services.ticks_purge(
        older_than=timezone.now() - timedelta(days=days), batch_size=int(settings.MARKETS["TICK_RETENTION_BATCH"])
    )
