"""Celery tasks of alerts: each takes primitives and calls one service."""

from celery import shared_task

from alerts import delivery


@shared_task
def deliver(delivery_id: int) -> str:
    """Send one queued notification delivery (Telegram or email); returns its final state.
    Scheduled on commit by ``alerts.services.deliveries_queue``, one per event and channel."""
    return delivery.deliver(delivery_id)
