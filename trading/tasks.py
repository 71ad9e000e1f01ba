"""Celery tasks of trading: each takes primitives and calls one service."""

from celery import shared_task

from markets.jobs import tracked
from trading import services


@shared_task
@tracked("trading: expire DAY orders")
def expire_day_orders() -> int:
    """Expire DAY orders whose session has ended (beat: every minute)."""
    return services.orders_expire()


@shared_task
@tracked("trading: daily equity snapshot")
def snapshot_equity() -> int:
    """Record every user's end-of-day equity (beat: daily, 23:59 Asia/Seoul)."""
    return services.equity_snapshot_all()


@shared_task
@tracked("trading: exit lots after N sessions")
def exit_lots() -> int:
    """Sell the lots whose exit after N sessions is due (beat: every minute)."""
    return services.lots_exit_due()
