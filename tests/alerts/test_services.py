"""alerts.services: the tick handler on the real Upbit BTC replay; trigger modes, expiry, idempotency."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts import conditions, services
from alerts.models import Alert, AlertEvent, Notification
from markets.models import Ticker

pytestmark = pytest.mark.django_db


def feed(instrument, series, **kwargs):
    """Walk the ticker through ``series`` calling the handler after each point (as the feed does)."""
    for t, price in series:
        Ticker.objects.filter(instrument=instrument).update(last_price=Decimal(price), time=t)
        services.alerts_on_tick(instrument_ids=[instrument.pk], **kwargs)


def expected(cond, series, **kw):
    return conditions.fire_series(cond, [t.timestamp() for t, _ in series], [float(p) for _, p in series], **kw)


def times(alert):
    return sorted(e.tick_time for e in AlertEvent.objects.filter(alert=alert))


def test_every_time_fires_at_the_series_fire_times_with_notifications(
    user, btc, btc_series, django_capture_on_commit_callbacks
):
    level = Decimal(btc_series[10][1])
    a = services.alert_create(
        user=user, instrument_id=btc.pk, condition="crossing", level=level, trigger="every_time", expires_at=None
    )
    with django_capture_on_commit_callbacks() as pushes:
        feed(btc, btc_series)
    want = [btc_series[k][0] for k in expected("crossing", btc_series, level=float(level))]
    assert want and times(a) == want
    assert Notification.objects.filter(user=user, kind="alert").count() == len(want)
    assert len([f for f in pushes if "_push" in f.__qualname__]) == len(want)
    e = AlertEvent.objects.filter(alert=a).order_by("tick_time").first()
    assert e.previous_price is not None and (e.previous_price - level) * (e.price - level) <= 0


def test_once_fires_once_and_stops(user, btc, btc_series):
    level = Decimal(btc_series[10][1])
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=level)
    feed(btc, btc_series)
    a.refresh_from_db()
    assert a.state == "triggered"
    assert times(a) == [btc_series[expected("crossing", btc_series, level=float(level))[0]][0]]


def test_cooldown_and_once_per_bar(user, btc, btc_series):
    level = Decimal(btc_series[0][1])
    gt = [btc_series[k][0] for k in expected("greater_than", btc_series, level=float(level))]
    cool = services.alert_create(
        user=user,
        instrument_id=btc.pk,
        condition="greater_than",
        level=level,
        trigger="every_time",
        cooldown_seconds=3600,
    )
    bar = services.alert_create(
        user=user, instrument_id=btc.pk, condition="greater_than", level=level, trigger="once_per_bar", bar_seconds=3600
    )
    feed(btc, btc_series)
    want_cool, last = [], None
    for t in gt:
        if last is None or (t - last).total_seconds() >= 3600:
            want_cool.append(t)
            last = t
    want_bar, seen = [], set()
    for t in gt:
        hour = t.replace(minute=0)
        if hour not in seen:
            seen.add(hour)
            want_bar.append(t)
    assert len(gt) > len(want_cool) > 0
    assert times(cool) == want_cool
    assert times(bar) == want_bar


def test_moving_pct_in_a_window(user, btc, btc_series):
    a = services.alert_create(
        user=user,
        instrument_id=btc.pk,
        condition="moving_down_pct",
        value=Decimal("0.1"),
        window_minutes=60,
        trigger="every_time",
    )
    feed(btc, btc_series)
    want = [btc_series[k][0] for k in expected("moving_down_pct", btc_series, value=0.1, window_seconds=3600)]
    assert times(a) == want


def test_overlapping_batches_write_each_event_once(user, btc, btc_series):
    level = Decimal(btc_series[10][1])
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=level, trigger="every_time")
    for t, price in btc_series:
        Ticker.objects.filter(instrument=btc).update(last_price=Decimal(price), time=t)
        services.alerts_on_tick(instrument_ids=[btc.pk])
        services.alerts_on_tick(instrument_ids=[btc.pk])  # a second feed process, same batch
    n = len(expected("crossing", btc_series, level=float(level)))
    assert AlertEvent.objects.filter(alert=a).count() == n
    assert Notification.objects.count() == n


def test_crossing_never_fires_at_creation(user, btc, btc_series):
    a = services.alert_create(
        user=user, instrument_id=btc.pk, condition="crossing_up", level=Decimal("1")
    )  # already far above
    feed(btc, btc_series[:3])
    assert not AlertEvent.objects.filter(alert=a).exists()


def test_expired_alert_does_not_fire(user, btc, btc_series):
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"))
    Alert.objects.filter(pk=a.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    feed(btc, btc_series[:2])
    a.refresh_from_db()
    assert a.state == "expired" and not AlertEvent.objects.exists()


def test_paused_alert_does_not_fire(user, btc, btc_series):
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"))
    services.alert_update(alert=a, state="paused")
    feed(btc, btc_series[:2])
    assert not AlertEvent.objects.exists()


def test_default_expiry_is_30_days_and_open_ended_allowed(user, btc):
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"))
    assert abs((a.expires_at - timezone.now()) - timedelta(days=30)) < timedelta(minutes=1)
    b = services.alert_create(
        user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"), expires_at=None
    )
    assert b.expires_at is None


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"condition": "crossing"}, "level"),
        ({"condition": "inside_channel", "level": Decimal("1")}, "level2"),
        ({"condition": "moving_up", "value": Decimal("5")}, "window_minutes"),
        ({"condition": "moving_up", "window_minutes": 5}, "value"),
        ({"condition": "sideways", "level": Decimal("1")}, "condition"),
        ({"condition": "crossing", "level": Decimal("-1")}, "level"),
    ],
)
def test_invalid_alerts_name_the_field_and_write_nothing(user, btc, kwargs, field):
    with pytest.raises(services.InvalidAlert) as err:
        services.alert_create(user=user, instrument_id=btc.pk, **kwargs)
    assert err.value.field == field
    assert not Alert.objects.exists()


def test_once_per_bar_close_evaluates_each_closed_bar(user, btc, btc_series):
    """Hourly bars over the 15-min closes: at the first tick of each new hour the finished bar's
    close is compared with the close of the bar before it."""
    level = Decimal(btc_series[10][1])
    a = services.alert_create(
        user=user,
        instrument_id=btc.pk,
        condition="crossing",
        level=level,
        trigger="once_per_bar_close",
        bar_seconds=3600,
    )
    feed(btc, btc_series)
    closes, ends = [], []  # (close of each finished hour, its end)
    for k in range(1, len(btc_series)):
        if btc_series[k][0].hour != btc_series[k - 1][0].hour:
            closes.append(Decimal(btc_series[k - 1][1]))
            ends.append(btc_series[k][0].replace(minute=0))
    want = [
        ends[i]
        for i in range(1, len(closes))
        if (closes[i - 1] < level <= closes[i]) or (closes[i - 1] > level >= closes[i])
    ]
    assert times(a) == want
    for e in AlertEvent.objects.filter(alert=a):
        assert e.price in closes


def test_push_reaches_the_account_group(user, btc, btc_series, django_capture_on_commit_callbacks):
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(services.account_group(user.pk), channel)
    services.alert_create(
        user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"), expires_at=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        feed(btc, btc_series[:1])
    msg = async_to_sync(asyncio.wait_for)(layer.receive(channel), 5)
    assert (
        msg["type"] == "account.event"
        and msg["event"]["type"] == "alert"
        and Decimal(msg["event"]["price"]) == Decimal(btc_series[0][1])
    )
