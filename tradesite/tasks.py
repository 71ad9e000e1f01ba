"""Project-wide periodic tasks (they read several apps' data)."""

from celery import shared_task

from markets.jobs import tracked
from tradesite import crawl


@shared_task
@tracked(crawl.JOB)
def candles_crawl() -> int:
    """Incremental candles of the board's, held, ordered, bots' and alerts' coins (1d; 1h for
    the board); per-venue status in ``JobStatus`` (``tradesite.crawl``). Returns candles written."""
    return crawl.crawl_all()
