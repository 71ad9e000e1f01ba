from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from tradesite.inline_beat import run_due_tasks
from trading import services
from trading.models import Order

pytestmark = pytest.mark.django_db


def test_due_beat_entries_run_in_process_once_per_interval(user, btc):
    order, _ = services.order_place(
        user=user,
        instrument_id=btc.pk,
        side="buy",
        type="limit",
        quantity="0.01",
        limit_price="90000000",
        time_in_force="DAY",
    )
    # the day ended a moment ago
    Order.objects.filter(pk=order.pk).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    now = datetime.now(UTC)

    expire = ["trading: expire DAY orders"]  # (other entries reach for the network: ETL)
    first = run_due_tasks(now=now, only=expire)
    second = run_due_tasks(now=now + timedelta(seconds=10), only=expire)

    order.refresh_from_db()
    assert first == expire
    assert second == []  # its interval is one minute
    assert order.status == "expired"
    entry = PeriodicTask.objects.get(name="trading: expire DAY orders")
    assert entry.total_run_count == 1 and entry.last_run_at == now
