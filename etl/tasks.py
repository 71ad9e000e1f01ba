"""Celery tasks: the per-minute live extraction and the staging purge.

Each task takes primitives and calls one service. Network trouble is retried inside the run
(``markets.sources.retry``: capped backoff, a breaker per exchange host) and otherwise waits for
the next minute's run: a task-level retry would only multiply the requests to a host that is down.
"""

import logging

from celery import shared_task

from etl import services
from etl.conf import live_pairs
from etl.extract import ExtractNetworkError
from etl.pairs import get_pair
from markets.jobs import job_run, tracked

log = logging.getLogger(__name__)


@shared_task
def taker_volume_live_pair(exchange: str, symbol: str) -> int:
    """One live run of a pair from its cursor; returns the IngestRun id."""
    with job_run("etl: taker volume live", venue=exchange) as run:
        ingest = services.taker_volume_live_run(pair=get_pair(exchange, symbol))
        run.rows = ingest.minutes_written
    return ingest.pk


@shared_task
@tracked("etl: taker volume live", rows=False)  # it returns the pairs queued
def taker_volume_live_all() -> int:
    """Queue a live run for each configured pair (``ETL["LIVE_PAIRS"]``); the beat entry
    "etl: taker volume live" calls this every minute. Returns the number queued."""
    pairs = live_pairs()
    for pair in pairs:
        try:
            taker_volume_live_pair.delay(pair.exchange, pair.symbol)
        except ExtractNetworkError as exc:  # eager mode: the breaker logged the outage once
            log.debug("taker volume live run of %s: %s", pair.label, exc)
        except Exception:  # eager mode (no broker) runs inline: one pair's failure must not stop the rest
            log.exception("taker volume live run of %s failed", pair.label)
    return len(pairs)


@shared_task
@tracked("etl: staged trades purge")
def staged_trades_purge() -> int:
    """Drop staged trades of completed minutes past the retention period; returns how many."""
    return services.staged_trades_purge()
