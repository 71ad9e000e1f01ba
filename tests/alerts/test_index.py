"""alerts.index and the watch rows: the in-process index follows alert changes, a stale index never
fires, and two feed processes on overlapping batches write each event once (PostgreSQL)."""

from decimal import Decimal

import pytest
from django.db import connection

from alerts import services
from alerts.index import INDEX
from alerts.models import Alert, AlertEvent, AlertWatch
from markets.models import Ticker
from tests.alerts.test_services import expected, feed, times
from tests.helpers import run_at_once


@pytest.mark.django_db
def test_an_alert_created_after_the_index_loaded_is_evaluated(user, btc, btc_series):
    level = Decimal(btc_series[10][1])
    services.alert_create(user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"))
    feed(btc, btc_series[:2])  # the index now holds BTC's entry
    b = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=level, trigger="every_time")
    feed(btc, btc_series[2:])
    want = [btc_series[2:][k][0] for k in expected("crossing", btc_series[2:], level=float(level))]
    assert want and times(b) == want


@pytest.mark.django_db
def test_an_edited_level_is_used_and_a_deleted_alert_never_fires(user, btc, btc_series):
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=Decimal("1"))
    gone = services.alert_create(user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"))
    feed(btc, btc_series[:2])
    AlertEvent.objects.all().delete()
    services.alert_delete(alert=gone)
    level = Decimal(btc_series[10][1])
    services.alert_update(alert=a, level=level, trigger="every_time")
    feed(btc, btc_series[2:])
    want = [btc_series[2:][k][0] for k in expected("crossing", btc_series[2:], level=float(level))]
    assert want and times(a) == want
    assert AlertEvent.objects.count() == len(want)


@pytest.mark.django_db
def test_a_stale_index_never_fires_an_alert_edited_elsewhere(user, btc, btc_series):
    """Another process paused the alert (its version bump not yet seen here): no event."""
    a = services.alert_create(
        user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"), trigger="every_time"
    )
    feed(btc, btc_series[:1])
    assert AlertEvent.objects.filter(alert=a).count() == 1
    Alert.objects.filter(pk=a.pk).update(state="paused")  # bypasses the services: the index is stale
    version = AlertWatch.objects.get(pk=btc.pk).version
    feed(btc, btc_series[1:4])
    assert AlertEvent.objects.filter(alert=a).count() == 1
    assert AlertWatch.objects.get(pk=btc.pk).version == version  # the index was not told, yet nothing fired


@pytest.mark.django_db
def test_the_watch_keeps_the_previous_price_for_every_process(user, btc, btc_series):
    """The previous price lives in the database, not in the index: a process that starts with an
    empty index still sees the crossing between the last observed price and the new one."""
    level = Decimal(btc_series[10][1])
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=level, trigger="every_time")
    for t, price in btc_series:
        Ticker.objects.filter(instrument=btc).update(last_price=Decimal(price), time=t)
        INDEX.clear()  # as if each batch were handled by a freshly started feed process
        services.alerts_on_tick(instrument_ids=[btc.pk])
    want = [btc_series[k][0] for k in expected("crossing", btc_series, level=float(level))]
    assert want and times(a) == want


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_batches_write_each_event_once(user, btc, btc_series):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) need PostgreSQL; SQLite serializes writers")
    level = Decimal(btc_series[10][1])
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=level, trigger="every_time")
    b = services.alert_create(
        user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"), trigger="every_time"
    )
    for t, price in btc_series:
        Ticker.objects.filter(instrument=btc).update(last_price=Decimal(price), time=t)
        results = run_at_once(
            lambda: services.alerts_on_tick(instrument_ids=[btc.pk]),
            lambda: services.alerts_on_tick(instrument_ids=[btc.pk]),
        )
        assert not [r for r in results if isinstance(r, Exception)]
    want = [btc_series[k][0] for k in expected("crossing", btc_series, level=float(level))]
    assert want and times(a) == want
    assert len(times(b)) == len(btc_series)  # greater_than every_time: once per new tick, never twice
