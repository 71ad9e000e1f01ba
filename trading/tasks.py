"""Celery tasks of trading: each takes primitives and calls one service."""

from celery import shared_task

from trading import bot_services, services


@shared_task
def expire_day_orders() -> int:
    """Expire DAY orders whose session has ended (beat: every minute)."""
    return services.orders_expire()


@shared_task
def snapshot_equity() -> int:
    """Record every user's end-of-day equity (beat: daily, 23:59 Asia/Seoul)."""
    return services.equity_snapshot_all()


@shared_task
def bots_check() -> int:
    """Breakout bots: the day roll at each day boundary (sell yesterday's entry at the open,
    new K and target) and entries between ticks (beat: every 15 seconds)."""
    return bot_services.bots_check_all()
