"""Celery tasks: the per-minute live extraction and the staging purge.

Each task takes primitives and calls one service; only network trouble is retried (with
backoff): any other error would fail the same way again and is recorded on the run instead.
"""

import logging

from celery import shared_task

from etl import services
from etl.conf import live_pairs
from etl.extract import ExtractNetworkError
from etl.pairs import get_pair

log = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(ExtractNetworkError,), retry_backoff=5, retry_backoff_max=60, retry_jitter=True, max_retries=3
)
def taker_volume_live_pair(exchange: str, symbol: str) -> int:
    """One live run of a pair from its cursor; returns the IngestRun id."""
    return services.taker_volume_live_run(pair=get_pair(exchange, symbol)).pk


@shared_task
def taker_volume_live_all() -> int:
    """Queue a live run for each configured pair (``ETL["LIVE_PAIRS"]``); the beat entry
    "etl: taker volume live" calls this every minute. Returns the number queued."""
    pairs = live_pairs()
    for pair in pairs:
        try:
            taker_volume_live_pair.delay(pair.exchange, pair.symbol)
        except Exception:  # eager mode (no broker) runs inline: one pair's failure must not stop the rest
            log.exception("taker volume live run of %s failed", pair.label)
    return len(pairs)


@shared_task
def staged_trades_purge() -> int:
    """Drop staged trades of completed minutes past the retention period; returns how many."""
    return services.staged_trades_purge()
