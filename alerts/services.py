"""Alert writes: create/update/delete, and the tick handler that evaluates and fires alerts.

``alerts_on_tick`` is registered in ``MARKETS["TICK_HANDLERS"]``: on each feed batch it locks
the updated instruments' ``AlertWatch`` rows with their tickers in one query (``SKIP LOCKED``
on PostgreSQL, so a second feed process handling an overlapping batch leaves them), takes their
active alerts from the process's index (``alerts.index``, reloaded when a watch's version
changes), evaluates the whole batch in one vectorized call (``alerts.conditions``), re-checks
the proposed fires on their locked rows, writes each fired event once (unique
``idempotency_key``, ``bulk_create(ignore_conflicts=True)``) with an in-app ``Notification``,
and pushes it on the user's account WebSocket group after commit. Alert writes go through these
services (they change the watch's version); a write that bypasses them is seen within
``ALERTS["INDEX_MAX_AGE_SECONDS"]``.
Errors: ``InvalidAlert`` (400, naming the field).
"""

import logging
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import events as account_events
from alerts import conditions, delivery, index, tasks
from alerts.index import INDEX
from alerts.models import (
    Alert,
    AlertEvent,
    AlertWatch,
    Delivery,
    Notification,
    NotificationChannel,
    NotificationPreference,
    new_version,
)
from core import bulk
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
    _touch(instrument.pk)
    return alert


@transaction.atomic
def alert_update(*, alert: Alert, **fields) -> Alert:
    """Change an alert's operands or pause/resume it (``state``: active|paused). Every change
    re-arms it (``armed_at``): crossings and windows count only prices observed after it; a
    triggered/expired alert is re-armed by ``state=active``."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    for name, v in fields.items():
        if name == "state":
            if v not in (Alert.State.ACTIVE, Alert.State.PAUSED):
                raise InvalidAlert("state can be set to active or paused", field="state")
        elif name not in EDITABLE:
            raise InvalidAlert(f"unknown field {name}", field=name)
        setattr(alert, name, v)
    alert.armed_at = timezone.now()  # re-armed: prices observed before the edit are not "previous"
    _validate(alert) if alert.state == Alert.State.ACTIVE else None
    alert.save()
    _touch(alert.instrument_id)
    return alert


@transaction.atomic
def alert_delete(*, alert: Alert) -> None:
    alert.delete()
    _touch(alert.instrument_id)


def preferences_get(*, user) -> dict[str, list[str]]:
    """``{event: [channels]}`` for every account event (``[]``: not notified)."""
    stored = dict(NotificationPreference.objects.filter(user=user).values_list("event", "channels"))
    return {e: list(stored.get(e) or []) for e in account_events.EVENTS}


@transaction.atomic
def preferences_set(*, user, events: dict) -> dict[str, list[str]]:
    """Opt in or out of account events: ``events`` maps an event to its channels (``[]`` opts
    out; events not named keep their setting). ``app`` is added to any non-empty list (every
    notification is listed in the app). Raises ``InvalidAlert`` naming ``events.<event>``."""
    if not isinstance(events, dict):
        raise InvalidAlert("events must be an object {event: [channels]}", field="events")
    for event, kinds in events.items():
        if event not in account_events.EVENTS:
            raise InvalidAlert(f"unknown event; one of {', '.join(account_events.EVENTS)}", field=f"events.{event}")
        if not isinstance(kinds, list) or any(k not in CHANNEL_KINDS for k in kinds):
            raise InvalidAlert(f"a list of {', '.join(CHANNEL_KINDS)}", field=f"events.{event}")
    for event, kinds in events.items():
        if not kinds:
            NotificationPreference.objects.filter(user=user, event=event).delete()
            continue
        chosen = ["app"] + sorted({k for k in kinds if k != "app"})
        NotificationPreference.objects.update_or_create(user=user, event=event, defaults={"channels": chosen})
    return preferences_get(user=user)


KIND_OF_EVENT = {
    account_events.ORDER_FILLED: Notification.Kind.ORDER,
    account_events.ORDER_EXPIRED: Notification.Kind.ORDER,
    account_events.BOT_ENTERED: Notification.Kind.BOT,
    account_events.BOT_EXITED: Notification.Kind.BOT,
    account_events.QUIZ_DAILY_CAP: Notification.Kind.QUIZ,
}


# --- notifications on Telegram and email: the delivery queue ------------------------------
# The rows are written here, in the caller's transaction, and the Celery task that sends each
# (alerts.tasks.deliver -> alerts.delivery.deliver) is scheduled after commit: services import
# tasks, tasks import delivery, delivery imports neither, so the imports run one way.
def deliveries_queue(items: list[tuple[Notification, list[str]]]) -> list[int]:
    """Write one queued ``Delivery`` per (notification, the user's active channel of a listed
    kind); duplicates are ignored (unique per notification and channel). The tasks are sent
    after the caller's transaction commits. Returns the new delivery ids."""
    wanted = [(n, {k for k in kinds if k in delivery.DELIVERY_KINDS}) for n, kinds in items]
    wanted = [(n, kinds) for n, kinds in wanted if kinds]
    if not wanted:
        return []
    users = {n.user_id for n, _ in wanted}
    channels: dict[int, list[NotificationChannel]] = {}
    for ch in NotificationChannel.objects.filter(
        user_id__in=users, kind__in=delivery.DELIVERY_KINDS, verified=True, disabled_at__isnull=True
    ):
        channels.setdefault(ch.user_id, []).append(ch)
    rows = [
        Delivery(notification=n, event_id=n.event_id, channel=ch)
        for n, kinds in wanted
        for ch in channels.get(n.user_id, [])
        if ch.kind in kinds
    ]
    # one INSERT ... ON CONFLICT DO NOTHING RETURNING id: the ids of the rows new here
    ids = sorted(pk for (pk,) in bulk.insert_returning(rows, conflict=("notification", "channel")))
    if ids:
        transaction.on_commit(lambda: _deliver_later(ids))
    return ids


def _deliver_later(ids: list[int]) -> None:
    for pk in ids:
        tasks.deliver.delay(pk)


@transaction.atomic
def notify(*, user, kind: str, text: str, channels: list[str] | tuple[str, ...] = ("app",)) -> Notification:
    """An account notification (``kind``: order|bot|quiz|channel): in the app (pushed on
    ``/ws/account/``) and on the user's active channels of the kinds in ``channels``."""
    note = Notification.objects.create(user=user, kind=kind, text=text[:300])
    trading_services._push(user.pk, {"type": "notification", "id": note.pk, "kind": kind, "text": note.text})
    deliveries_queue([(note, list(channels))])
    return note


def account_event_notify(*, user_id: int, event: str, text: str) -> Notification | None:
    """The ``ACCOUNTS["ON_ACCOUNT_EVENT"]`` hook: when the user opted in to ``event``, a
    notification in the app (pushed on ``/ws/account/``) and on the chosen channels
    (`notify`); otherwise nothing (returns None)."""
    pref = NotificationPreference.objects.filter(user_id=user_id, event=event).first()
    if pref is None or not pref.channels:
        return None
    user = get_user_model().objects.get(pk=user_id)
    return notify(user=user, kind=KIND_OF_EVENT[event], text=text, channels=list(pref.channels))


def notification_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ``ids`` is None); returns the count."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def _f(d: Decimal | None) -> float:
    return float(d) if d is not None else np.nan


def _epoch(t: datetime | None) -> float:
    return t.timestamp() if t is not None else np.nan


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _bar_start(t: datetime, seconds: int) -> datetime:
    epoch = int(t.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def _touch(instrument_id: int) -> None:
    """An alert of ``instrument_id`` changed: this process's index reloads it now, the other
    processes when the watch's new version is committed."""
    INDEX.invalidate(instrument_id)
    transaction.on_commit(
        lambda: AlertWatch.objects.filter(pk=instrument_id).update(version=new_version()), robust=True
    )


def _update_many(model, names: tuple[str, ...], objs: list, stamp_updated_at: bool = False) -> None:
    """Write ``names`` of ``objs`` in one ``UPDATE ... FROM (VALUES ...)`` (``core.bulk``):
    ``bulk_update`` builds a CASE expression per row and field (seconds for a few thousand
    rows), ``executemany`` one statement per row."""
    bulk.update_rows(model, names, objs, same={"updated_at": timezone.now()} if stamp_updated_at else None)


FIRE_FIELDS = ("state", "last_price", "last_tick_at", "last_fired_at", "last_fired_bar")
WATCH_FIELDS = ("version", "last_price", "last_tick_at", "observed_at", "history", "bar_closes")


def _lock_watches(instrument_ids: list[int]) -> list[AlertWatch]:
    """The batch's watch rows with their tickers, locked (``SKIP LOCKED``: an instrument another
    feed process is handling right now is left to it); missing rows are created."""

    def query(ids):
        return list(
            AlertWatch.objects.filter(instrument_id__in=ids)
            .annotate(tick_price=F("instrument__ticker__last_price"), tick_time=F("instrument__ticker__time"))
            .select_for_update(skip_locked=True, of=("self",), no_key=True)
        )

    watches = query(instrument_ids)
    missing = set(instrument_ids) - {w.pk for w in watches}
    if missing:
        AlertWatch.objects.bulk_create([AlertWatch(instrument_id=i) for i in missing], ignore_conflicts=True)
        watches += query(list(missing))
    return watches


def alerts_on_tick(*, instrument_ids: list[int]) -> int:
    """Evaluate every active alert of ``instrument_ids`` against their tickers; returns the
    number of events written (duplicates from overlapping batches are not counted).

    Per instrument, the previous observed price is its ``AlertWatch`` row (locked, ``SKIP
    LOCKED``); the alerts come from this process's index (``alerts.index``), evaluated in one
    vectorized call for the whole batch. A proposed fire is re-read and locked from the
    database and checked (still active, not edited since the index loaded it, cooldown and bar
    against the stored state) before its event is written."""
    now = timezone.now()
    now_s = now.timestamp()
    with transaction.atomic():
        watches = [
            w
            for w in _lock_watches(instrument_ids)
            if w.tick_time is not None
            and (w.last_tick_at is None or w.tick_time != w.last_tick_at or w.tick_price != w.last_price)
        ]
        if not watches:
            return 0
        entries = INDEX.get([w.pk for w in watches], {w.pk: w.version for w in watches})
        parts: list[dict[str, np.ndarray]] = []
        sources: list[tuple[AlertWatch, Decimal | None, dict]] = []  # per part: watch, previous price, closes
        expired: list[int] = []
        changed: set[int] = set()  # instruments whose active alerts this batch changes
        for w in watches:
            entry = entries[w.pk]
            a = entry.arrays
            t, p = w.tick_time.timestamp(), float(w.tick_price)
            wt, wobs, wp = _epoch(w.last_tick_at), _epoch(w.observed_at), _f(w.last_price)
            hist = np.asarray(w.history, dtype=float).reshape(-1, 3)
            if len(hist) and hist[-1, 0] > t:  # a replay rewound its clock: start the window over
                hist = hist[:0]
            n = len(a["pk"])
            if n:
                live = a["expires"] > now_s
                if not live.all():
                    expired += a["pk"][~live].tolist()
                    changed.add(w.pk)
                seen = wobs > a["armed"]  # the previous price was observed after the alert was armed
                price, prev, when = np.full(n, p), np.where(seen, wp, np.nan), np.full(n, t)
                use = live
                closed = None
                if entry.bars:
                    bpc = entry.bar_close
                    use = live & ~bpc
                    if not np.isnan(wt):
                        bar = a["bar"]
                        closed = bpc & live & (np.floor(t) // bar > np.floor(wt) // bar)
                        if closed.any():
                            # the finished bar's close vs the close of the bar before it (as recorded then)
                            cl = np.array(
                                [
                                    [
                                        float(x) if x is not None else np.nan
                                        for x in w.bar_closes.get(str(int(b)), [None, None])
                                    ]
                                    for b in bar
                                ],
                                dtype=float,
                            ).reshape(-1, 2)
                            price = np.where(closed, np.where(seen, wp, np.nan), price)
                            prev = np.where(closed, np.where(cl[:, 1] > a["armed"], cl[:, 0], np.nan), prev)
                            when = np.where(closed, np.floor(wt) - np.floor(wt) % bar + bar, when)
                            use = use | closed
                ref = np.full(n, np.nan)
                if entry.longest and len(hist):
                    moving = entry.moving & use
                    i = np.maximum(
                        np.searchsorted(hist[:, 0], when - a["window"], side="left"),
                        np.searchsorted(hist[:, 2], a["armed"], side="right"),
                    )
                    j = np.searchsorted(hist[:, 0], when, side="left")
                    ok = moving & (i < j)
                    ref[ok] = hist[i[ok], 1]
                if use.any():
                    everything = use.all()
                    part = {k: v if everything else v[use] for k, v in a.items()}
                    part.update(
                        price=price[use],
                        prev=prev[use],
                        when=when[use],
                        ref=ref[use],
                        closed=closed[use] if closed is not None else np.zeros(len(part["pk"]), dtype=bool),
                    )
                    parts.append(part)
                    sources.append((w, w.last_price, dict(w.bar_closes)))
                if entry.longest:
                    hist = np.vstack([hist, [[t, p, now_s]]])
                    w.history = hist[hist[:, 0] >= t - entry.longest].tolist()
                else:
                    w.history = []
                w.bar_closes = {
                    str(b): (
                        [plain(w.last_price), wobs]
                        if not np.isnan(wt) and int(t) // b > int(wt) // b
                        else w.bar_closes.get(str(b), [None, None])
                    )
                    for b in entry.bars
                }
            else:
                w.history, w.bar_closes = [], {}
            w.last_price, w.last_tick_at, w.observed_at = w.tick_price, w.tick_time, now
        candidates: list[tuple[int, float, Decimal, Decimal | None, datetime]] = []
        if parts:
            b = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
            owner = np.repeat(np.arange(len(parts)), [len(part["pk"]) for part in parts])
            hit = conditions.evaluate(b["code"], b["price"], b["prev"], b["level"], b["level2"], b["value"], b["ref"])
            when = b["when"]
            every = b["trigger"] == index.EVERY_TIME
            per_bar = b["trigger"] == index.ONCE_PER_BAR
            with np.errstate(invalid="ignore"):
                cool = np.isnan(b["fired_at"]) | (when - b["fired_at"] >= b["cooldown"])
            bar_start = np.floor(when) - np.floor(when) % b["bar"]
            hit &= (~every | cool) & (~per_bar | (b["fired_bar"] != bar_start))
            for k in np.flatnonzero(hit).tolist():
                w, prev_price, prev_closes = sources[owner[k]]
                has_prev = not np.isnan(b["prev"][k])
                if b["closed"][k]:  # the finished bar's close vs the one before it
                    before = prev_closes.get(str(int(b["bar"][k])), [None])[0]
                    price, prev = prev_price, (Decimal(before) if has_prev and before is not None else None)
                    t = _dt(float(when[k]))
                else:
                    price, prev, t = w.tick_price, (prev_price if has_prev else None), w.tick_time
                candidates.append((int(b["pk"][k]), float(b["armed"][k]), price, prev, t))
        if expired:
            Alert.objects.filter(pk__in=expired, state=Alert.State.ACTIVE).update(
                state=Alert.State.EXPIRED, updated_at=now
            )
        events = _fire(candidates, now)
        fired_alerts = [e.alert for e in events]
        changed |= {a.instrument_id for a in fired_alerts if a.state == Alert.State.TRIGGERED}
        versions = {w.pk: (new_version() if w.pk in changed else w.version) for w in watches}
        for w in watches:
            w.version = versions[w.pk]
        _update_many(AlertWatch, WATCH_FIELDS, watches)
        _update_many(Alert, FIRE_FIELDS, fired_alerts, stamp_updated_at=True)

        def apply() -> None:  # this process's index follows once the batch is committed
            gone = set(expired) | {a.pk for a in fired_alerts if a.state == Alert.State.TRIGGERED}
            for w in watches:
                if w.pk in changed:
                    entries[w.pk].drop(gone)
                    INDEX.set_version(w.pk, versions[w.pk])
            for a in fired_alerts:
                entries[a.instrument_id].set(a.pk, fired_at=_epoch(a.last_fired_at), fired_bar=_epoch(a.last_fired_bar))

        if changed or fired_alerts:
            transaction.on_commit(apply)
        return _events_write(events) if events else 0


def _fire(candidates: list[tuple[int, float, Decimal, Decimal | None, datetime]], now: datetime) -> list[AlertEvent]:
    """Lock the proposed alerts, keep those their stored state allows (still active and
    unexpired, not edited since the index loaded them, cooldown and bar), set their fire state;
    returns the events to write (``event.alert`` the changed alert)."""
    if not candidates:
        return []
    rows = {
        a.pk: a
        for a in Alert.objects.filter(pk__in=[c[0] for c in candidates], state=Alert.State.ACTIVE)
        .select_related("instrument")
        .select_for_update(of=("self",), no_key=True)
    }
    events = []
    for pk, armed, price, prev, t in candidates:
        a = rows.get(pk)
        if a is None or (a.expires_at is not None and a.expires_at <= now) or a.armed_at.timestamp() != armed:
            continue  # gone, paused, expired or edited since the index loaded it
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
        a.last_fired_at, a.last_price, a.last_tick_at = t, price, t
        if a.trigger == Alert.Trigger.ONCE:
            a.state = Alert.State.TRIGGERED
        events.append(
            AlertEvent(
                alert=a,
                price=price,
                previous_price=prev,
                tick_time=t,
                idempotency_key=f"{a.pk}:{t.isoformat()}:{plain(price)}",
            )
        )
    return events


def _events_write(fired: list[AlertEvent]) -> int:
    """Write the events once (unique key), their notifications, deliveries and pushes: one
    INSERT ... RETURNING each (``core.bulk``), no read-back."""
    inserted = dict(bulk.insert_returning(fired, returning=("idempotency_key", "id"), conflict=("idempotency_key",)))
    new = [e for e in fired if e.idempotency_key in inserted]  # another process wrote the others
    if not new:
        return 0
    notes = []
    for e in new:
        e.pk = inserted[e.idempotency_key]
        a = e.alert
        text = (
            a.message
            or f"{a.instrument.symbol} {a.condition} {plain(a.level) if a.level is not None else plain(a.value)}: {plain(e.price)}"
        )
        notes.append(Notification(user_id=a.user_id, kind=Notification.Kind.ALERT, text=text[:300], event=e))
    note_ids = dict(bulk.insert_returning(notes, returning=("event", "id")))
    for n in notes:
        n.pk = note_ids[n.event_id]
    # Telegram/email: a delivery row per listed channel, sent by a task after commit
    deliveries_queue(
        [(n, e.alert.channels) for n, e in zip(notes, new, strict=True) if set(e.alert.channels) - {"app"}]
    )
    _push_many(
        [
            (
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
            for n, e in zip(notes, new, strict=True)
        ]
    )
    return len(new)


def _push_many(messages: list[tuple[int, dict]]) -> None:
    """Send account events (user id, event) once the transaction commits, in one event-loop
    entry (``async_to_sync`` per message cost ~1 ms each under load)."""
    if not messages:
        return

    async def send_all():
        layer = get_channel_layer()
        for user_id, event in messages:
            try:
                await layer.group_send(account_group(user_id), {"type": "account.event", "event": event})
            except Exception:  # a push is best effort; the events are already committed
                logger.exception("account push to user %s failed", user_id)

    transaction.on_commit(lambda: async_to_sync(send_all)())
