"""Alert writes: create/update/delete, and the tick handler that evaluates and fires alerts.

``alerts_on_tick`` is registered in ``MARKETS["TICK_HANDLERS"]``: on each feed batch it loads
all active alerts of the updated instruments with their tickers in one query (rows locked with
``SKIP LOCKED`` on PostgreSQL, so a second feed process handling an overlapping batch skips
them), evaluates them vectorized (``alerts.conditions``), writes each fired event once (unique
``idempotency_key``, ``bulk_create(ignore_conflicts=True)``) with an in-app ``Notification``,
and pushes it on the user's account WebSocket group after commit.
Errors: ``InvalidAlert`` (400, naming the field).
"""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from alerts import conditions, delivery
from alerts.models import Alert, AlertEvent, Notification, NotificationChannel
from core.exceptions import DomainError
from core.money import plain
from markets.models import Instrument
from trading import services as trading_services

logger = logging.getLogger(__name__)
MAX_ALERTS_PER_USER = 500
MAX_WINDOW_MINUTES = 7 * 24 * 60
CHANNEL_KINDS = ("app", "telegram", "email")
EDITABLE = (
    "condition",
    "level",
    "level2",
    "value",
    "window_minutes",
    "trigger",
    "bar_seconds",
    "cooldown_seconds",
    "expires_at",
    "channels",
    "message",
)


class InvalidAlert(DomainError):
    code = "invalid_alert"


# the account WebSocket group and its on-commit push are trading's: one stream per user
_push = trading_services._push
account_group = trading_services.account_group


def _validate(alert: Alert) -> None:
    cond = alert.condition
    if cond not in conditions.CODE:
        raise InvalidAlert(f"unknown condition {cond!r}", field="condition")
    for name in ("level", "level2"):
        v = getattr(alert, name)
        if v is not None and v <= 0:
            raise InvalidAlert(f"{name} must be positive", field=name)
    if cond in conditions.NEEDS_LEVEL and alert.level is None:
        raise InvalidAlert(f"{cond} needs a level", field="level")
    if cond in conditions.CHANNEL and alert.level2 is None:
        raise InvalidAlert(f"{cond} needs a second level", field="level2")
    if cond in conditions.MOVING:
        if alert.value is None or alert.value <= 0:
            raise InvalidAlert(f"{cond} needs a positive value", field="value")
        if not alert.window_minutes or not 1 <= alert.window_minutes <= MAX_WINDOW_MINUTES:
            raise InvalidAlert(f"{cond} needs window_minutes from 1 to {MAX_WINDOW_MINUTES}", field="window_minutes")
    if alert.trigger not in Alert.Trigger.values:
        raise InvalidAlert(f"unknown trigger {alert.trigger!r}", field="trigger")
    if alert.trigger in (Alert.Trigger.ONCE_PER_BAR, Alert.Trigger.ONCE_PER_BAR_CLOSE) and not alert.bar_seconds:
        raise InvalidAlert("bar_seconds must be at least 1", field="bar_seconds")
    if alert.expires_at is not None and alert.expires_at <= timezone.now():
        raise InvalidAlert("expires_at must be in the future", field="expires_at")
    if not isinstance(alert.channels, list) or any(c not in CHANNEL_KINDS for c in alert.channels):
        raise InvalidAlert(f"channels: each one of {', '.join(CHANNEL_KINDS)}", field="channels")
    missing = [
        kind
        for kind in alert.channels
        if kind != "app"
        and not NotificationChannel.objects.filter(
            user_id=alert.user_id, kind=kind, verified=True, disabled_at__isnull=True
        ).exists()
    ]
    if missing:
        raise InvalidAlert(
            f"channels: link and verify a {missing[0]} channel first (/api/v1/notification-channels/)",
            field="channels",
        )


@transaction.atomic
def alert_create(*, user, instrument_id: int, condition: str, **fields) -> Alert:
    """Create an active alert. ``fields``: any of ``EDITABLE`` (``expires_at`` omitted -> 30 days,
    ``None`` -> open-ended). Raises ``InvalidAlert`` naming the field."""
    instrument = Instrument.objects.filter(pk=instrument_id).first()
    if instrument is None:
        raise InvalidAlert("no such instrument", field="instrument")
    if Alert.objects.filter(user=user).count() >= MAX_ALERTS_PER_USER:
        raise InvalidAlert(f"at most {MAX_ALERTS_PER_USER} alerts per user", field="instrument")
    alert = Alert(user=user, instrument=instrument, condition=condition, channels=["app"])
    for name, v in fields.items():
        if name not in EDITABLE:
            raise InvalidAlert(f"unknown field {name}", field=name)
        setattr(alert, name, v)
    _validate(alert)
    alert.save()
    return alert


@transaction.atomic
def alert_update(*, alert: Alert, **fields) -> Alert:
    """Change an alert's operands or pause/resume it (``state``: active|paused). Changing the
    condition or window clears the window history; a triggered/expired alert is re-armed by
    ``state=active``."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    for name, v in fields.items():
        if name == "state":
            if v not in (Alert.State.ACTIVE, Alert.State.PAUSED):
                raise InvalidAlert("state can be set to active or paused", field="state")
        elif name not in EDITABLE:
            raise InvalidAlert(f"unknown field {name}", field=name)
        setattr(alert, name, v)
    if "condition" in fields or "window_minutes" in fields:
        alert.history = []
    _validate(alert) if alert.state == Alert.State.ACTIVE else None
    alert.save()
    return alert


def alert_delete(*, alert: Alert) -> None:
    alert.delete()


def notification_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ``ids`` is None); returns the count."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def _f(d: Decimal | None) -> float:
    return float(d) if d is not None else np.nan


def _bar_start(t: datetime, seconds: int) -> datetime:
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


STATE_FIELDS = ("state", "last_price", "last_tick_at", "last_fired_at", "last_fired_bar", "last_bar_close", "history")


def _write_state(alerts: list[Alert]) -> None:
    """Write the evaluation state of ``alerts`` with one prepared UPDATE run over all rows
    (``executemany``): ``bulk_update`` builds a CASE expression per row and field, which took
    seconds for a few thousand alerts."""
    if not alerts:
        return
    meta = Alert._meta
    fields = [meta.get_field(name) for name in STATE_FIELDS]
    qn = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(meta.db_table), ", ".join(f"{qn(f.column)} = %s" for f in fields), qn(meta.pk.column)
    )
    now = timezone.now()
    updated_at = meta.get_field("updated_at")
    sql = sql.replace(" WHERE", f", {qn(updated_at.column)} = %s WHERE", 1)
    stamp = updated_at.get_db_prep_save(now, connection)
    rows = [[f.get_db_prep_save(getattr(a, f.attname), connection) for f in fields] + [stamp, a.pk] for a in alerts]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def alerts_on_tick(*, instrument_ids: list[int]) -> int:
    """Evaluate every active alert of ``instrument_ids`` against their tickers; returns the
    number of events written (duplicates from overlapping batches are not counted)."""
    now = timezone.now()
    with transaction.atomic():
        alerts = list(
            Alert.objects.filter(
                instrument_id__in=instrument_ids, state=Alert.State.ACTIVE, instrument__ticker__isnull=False
            )
            .annotate(tick_price=F("instrument__ticker__last_price"), tick_time=F("instrument__ticker__time"))
            .select_related("instrument")
            .select_for_update(skip_locked=True, of=("self",))
        )
        if not alerts:
            return 0
        expired = [a for a in alerts if a.expires_at is not None and a.expires_at <= now]
        for a in expired:
            a.state = Alert.State.EXPIRED
        live = [
            a
            for a in alerts
            if a.state == Alert.State.ACTIVE
            and (a.last_tick_at is None or a.tick_time != a.last_tick_at or a.tick_price != a.last_price)
        ]
        rows = []  # (alert, price, previous, tick_time) to evaluate
        for a in live:
            if a.trigger == Alert.Trigger.ONCE_PER_BAR_CLOSE:
                # evaluate once per closed bar: the close of the finished bar vs the one before
                if a.last_tick_at is not None and _bar_start(a.tick_time, a.bar_seconds) > _bar_start(
                    a.last_tick_at, a.bar_seconds
                ):
                    bar_end = _bar_start(a.last_tick_at, a.bar_seconds) + timedelta(seconds=a.bar_seconds)
                    rows.append((a, a.last_price, a.last_bar_close, bar_end))
                    a.last_bar_close = a.last_price
            else:
                rows.append((a, a.tick_price, a.last_price, a.tick_time))
        fired = []
        if rows:
            refs = []
            for a, price, _, t in rows:
                ref = np.nan
                if a.condition in conditions.MOVING:
                    hist = [
                        h for h in a.history if h[0] >= t.timestamp() - a.window_minutes * 60 and h[0] < t.timestamp()
                    ]
                    ref = hist[0][1] if hist else np.nan
                    a.history = hist + [[t.timestamp(), float(price)]]
                refs.append(ref)
            mask = conditions.evaluate(
                conditions.codes([r[0].condition for r in rows]),
                [_f(r[1]) for r in rows],
                [_f(r[2]) for r in rows],
                [_f(r[0].level) for r in rows],
                [_f(r[0].level2) for r in rows],
                [_f(r[0].value) for r in rows],
                refs,
            )
            for (a, price, prev, t), hit in zip(rows, mask, strict=False):
                if not hit:
                    continue
                if (
                    a.trigger == Alert.Trigger.EVERY_TIME
                    and a.last_fired_at is not None
                    and (t - a.last_fired_at).total_seconds() < a.cooldown_seconds
                ):
                    continue
                if a.trigger == Alert.Trigger.ONCE_PER_BAR:
                    bar = _bar_start(t, a.bar_seconds)
                    if a.last_fired_bar == bar:
                        continue
                    a.last_fired_bar = bar
                a.last_fired_at = t
                if a.trigger == Alert.Trigger.ONCE:
                    a.state = Alert.State.TRIGGERED
                fired.append(
                    AlertEvent(
                        alert=a,
                        price=price,
                        previous_price=prev,
                        tick_time=t,
                        idempotency_key=f"{a.pk}:{t.isoformat()}:{plain(price)}",
                    )
                )
        for a in live:
            a.last_price, a.last_tick_at = a.tick_price, a.tick_time
        _write_state(expired + live)
        if not fired:
            return 0
        AlertEvent.objects.bulk_create(fired, ignore_conflicts=True)
        by_key = {e.idempotency_key: e.alert for e in fired}
        new = list(AlertEvent.objects.filter(idempotency_key__in=list(by_key), notification__isnull=True))
        notes = []
        for e in new:
            a = by_key[e.idempotency_key]
            text = (
                a.message
                or f"{a.instrument.symbol} {a.condition} {plain(a.level) if a.level is not None else plain(a.value)}: {plain(e.price)}"
            )
            notes.append(Notification(user_id=a.user_id, kind=Notification.Kind.ALERT, text=text[:300], event=e))
        Notification.objects.bulk_create(notes, ignore_conflicts=True)
        # Telegram/email: a delivery row per listed channel, sent by a task after commit
        to_deliver = [e for e in new if any(k != "app" for k in by_key[e.idempotency_key].channels)]
        if to_deliver:
            stored = Notification.objects.filter(event__in=to_deliver).select_related("event")
            delivery.deliveries_queue([(n, by_key[n.event.idempotency_key].channels) for n in stored])
        for n, e in zip(notes, new, strict=False):
            _push(
                n.user_id,
                {
                    "type": "alert",
                    "alert_id": e.alert_id,
                    "event_id": e.pk,
                    "price": plain(e.price),
                    "previous_price": plain(e.previous_price) if e.previous_price is not None else None,
                    "tick_time": e.tick_time.isoformat(),
                    "text": n.text,
                },
            )
        return len(new)
