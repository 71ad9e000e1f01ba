"""core.bulk on the alerts tables: one INSERT ... RETURNING that skips conflicts, one UPDATE ...
FROM (VALUES ...) that writes NULLs, decimals, times and JSON as the ORM does (SQLite here,
PostgreSQL in CI's PostgreSQL run)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts import services
from alerts.models import Alert, AlertEvent, AlertWatch
from core import bulk

pytestmark = pytest.mark.django_db
T = datetime(2026, 6, 28, 8, 15, tzinfo=UTC)


def _alert(user, btc, level="91500000"):
    return services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=Decimal(level))


def _event(alert, key, price="91510000"):
    return AlertEvent(alert=alert, price=Decimal(price), previous_price=None, tick_time=T, idempotency_key=key)


def test_insert_returning_gives_the_new_rows_ids_and_skips_a_conflict_in_one_statement(user, btc):
    a = _alert(user, btc)
    first = dict(
        bulk.insert_returning([_event(a, "k1")], returning=("idempotency_key", "id"), conflict=("idempotency_key",))
    )
    with CaptureQueriesContext(connection) as queries:
        again = bulk.insert_returning(
            [_event(a, "k1"), _event(a, "k2", "91520000")],
            returning=("idempotency_key", "id"),
            conflict=("idempotency_key",),
        )
    assert len(queries) == 1
    assert [key for key, _ in again] == ["k2"]  # k1 was there: skipped, not returned
    stored = dict(AlertEvent.objects.values_list("idempotency_key", "id"))
    assert stored == {"k1": first["k1"], "k2": again[0][1]}
    k2 = AlertEvent.objects.get(idempotency_key="k2")
    assert k2.price == Decimal("91520000") and k2.previous_price is None and k2.tick_time == T
    assert k2.created_at is not None  # auto_now_add through pre_save


def test_insert_returning_splits_rows_past_the_parameter_limit(user, btc, monkeypatch):
    a = _alert(user, btc)
    monkeypatch.setattr(bulk, "PG_MAX_PARAMS", 3 * 7)  # AlertEvent has 7 columns besides id: 3 rows a statement
    with CaptureQueriesContext(connection) as queries:
        ids = bulk.insert_returning([_event(a, f"k{n}") for n in range(7)])
    assert len(queries) == 3
    assert sorted(pk for (pk,) in ids) == sorted(AlertEvent.objects.values_list("id", flat=True))


def test_update_rows_writes_nulls_decimals_times_and_the_same_value_in_one_statement(user, btc):
    a, b = _alert(user, btc), _alert(user, btc, "90000000")
    a.state, a.last_price, a.last_fired_at, a.last_fired_bar = "triggered", Decimal("91510000.5"), T, None
    b.last_price, b.last_fired_at, b.last_fired_bar = None, None, None  # a column of NULLs only
    stamp = datetime(2026, 6, 28, 9, 0, tzinfo=UTC)
    with CaptureQueriesContext(connection) as queries:
        bulk.update_rows(
            Alert, ("state", "last_price", "last_fired_at", "last_fired_bar"), [a, b], same={"updated_at": stamp}
        )
    assert len(queries) == 1
    a2, b2 = Alert.objects.get(pk=a.pk), Alert.objects.get(pk=b.pk)
    assert (a2.state, a2.last_price, a2.last_fired_at, a2.last_fired_bar) == (
        "triggered",
        Decimal("91510000.5"),
        T,
        None,
    )
    assert (b2.state, b2.last_price, b2.last_fired_at) == ("active", None, None)
    assert a2.updated_at == stamp and b2.updated_at == stamp


def test_update_rows_writes_json_fields_of_a_one_to_one_keyed_table(btc):
    w, _ = AlertWatch.objects.get_or_create(instrument=btc)
    w.history, w.bar_closes, w.last_price = [[1.5, "91500000", 2.0]], {"60": ["91400000", 3.0]}, Decimal("91500000")
    bulk.update_rows(AlertWatch, ("history", "bar_closes", "last_price"), [w])
    w2 = AlertWatch.objects.get(pk=btc.pk)
    assert w2.history == [[1.5, "91500000", 2.0]] and w2.bar_closes == {"60": ["91400000", 3.0]}
    assert w2.last_price == Decimal("91500000")


def _fire_batch(btc, n: int, price: str) -> tuple[int, int]:
    """``n`` users' alerts (app + Telegram) fire on one batch: (events written, statements run)."""
    from accounts.models import User
    from alerts.models import NotificationChannel
    from markets.models import Ticker

    for k in range(n):
        u = User.objects.create(username=f"bulk{price}-{k}", email=f"bulk{price}-{k}@example.com")
        NotificationChannel.objects.create(user=u, kind="telegram", chat_id=700_000 + k, verified=True)
        services.alert_create(
            user=u, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"), channels=["app", "telegram"]
        )
    Ticker.objects.filter(instrument=btc).update(last_price=Decimal(price), time=T)
    with CaptureQueriesContext(connection) as queries:
        fired = services.alerts_on_tick(instrument_ids=[btc.pk])
    return fired, len(queries)


def test_a_fire_batch_costs_the_same_statements_for_one_event_as_for_thirty(btc):
    from alerts.models import Delivery, Notification

    one = _fire_batch(btc, 1, "91500000")
    AlertEvent.objects.all().delete()
    Alert.objects.all().delete()
    thirty = _fire_batch(btc, 30, "91600000")

    assert one[0] == 1 and thirty[0] == 30
    assert thirty[1] == one[1]  # events, notifications, deliveries, alert state: one statement each
    assert Notification.objects.filter(kind="alert", event__isnull=False).count() == 30
    assert Delivery.objects.filter(state="queued").count() == 30
