"""Celery tasks of the bots: each takes primitives and calls one service."""

import ccxt
from celery import shared_task

from bots import services
from markets.jobs import tracked
from markets.sources.retry import HostDown


@shared_task
@tracked("trading: breakout bots (day roll, entries)")
def bots_check() -> int:
    """Breakout bots: the day roll at each day boundary (sell yesterday's entry at the open,
    new K and target) and entries between ticks (beat: every 15 seconds)."""
    return services.bots_check_all()


# an open breaker (HostDown) is not retried: the next run, 5 minutes on, probes the host again
@shared_task(autoretry_for=(ccxt.NetworkError,), dont_autoretry_for=(HostDown,), retry_backoff=True, max_retries=3)
@tracked("trading: refresh the bots' daily candles")
def bots_refresh_candles() -> int:
    """Fetch the last days' daily candles of the bots' instruments from their exchanges, so a
    bot knows yesterday's range at its day roll (beat: every 5 minutes; retries network errors)."""
    return services.bots_refresh_candles()
