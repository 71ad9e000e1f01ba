"""Price alerts, their fired events, and in-app notifications.

Prices are Decimals in the instrument's quote currency; times are stored UTC.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts import events as account_events
from alerts import conditions
from core.fields import PriceField
from markets.models import Instrument

ALERT_DEFAULT_LIFETIME = timedelta(days=30)


def default_expiry():
    """30 days from now (UTC); an alert may also be open-ended (``expires_at`` null)."""
    return timezone.now() + ALERT_DEFAULT_LIFETIME


class Alert(models.Model):
    """A user's condition on one instrument's price (see ``alerts.conditions`` for the rules).

    ``level``/``level2``: price levels (channels use both); ``value``: the move for ``moving_*``
    (price units, or percent for ``*_pct``) within ``window_minutes``. ``armed_at`` is when it
    was created, resumed or last edited: only prices observed after it count as "previous"
    (``AlertWatch``), so crossings never fire at creation. ``last_price``/``last_tick_at`` are
    the price and tick time of the last fire. ``bar_seconds`` is the bar interval of the
    ``once_per_bar*`` modes; ``cooldown_seconds`` the pause of ``every_time`` between fires.
    """

    Condition = models.TextChoices("Condition", [(c.upper(), c) for c in conditions.CONDITIONS])

    class Trigger(models.TextChoices):
        ONCE = "once"
        ONCE_PER_BAR = "once_per_bar"
        ONCE_PER_BAR_CLOSE = "once_per_bar_close"
        EVERY_TIME = "every_time"

    class State(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        TRIGGERED = "triggered"
        EXPIRED = "expired"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="alerts")
    condition = models.CharField(max_length=20, choices=Condition.choices)
    level = PriceField(null=True, blank=True)
    level2 = PriceField(null=True, blank=True)
    value = PriceField(null=True, blank=True)
    window_minutes = models.PositiveIntegerField(null=True, blank=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.ONCE)
    bar_seconds = models.PositiveIntegerField(default=60)
    cooldown_seconds = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True, default=default_expiry)
    channels = models.JSONField(default=list, blank=True, help_text='delivery channels, e.g. ["app"]')
    message = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    armed_at = models.DateTimeField(default=timezone.now)
    last_price = PriceField(null=True, blank=True, help_text="the price of the last fire")
    last_tick_at = models.DateTimeField(null=True, blank=True, help_text="the tick time of the last fire")
    last_fired_at = models.DateTimeField(null=True, blank=True)
    last_fired_bar = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["instrument", "state"], name="alert_instrument_state")]

    def __str__(self) -> str:
        return f"{self.user} {self.instrument} {self.condition} {self.level}"


def new_version() -> int:
    """A random version stamp (so a row recreated after a rollback never matches a stale index)."""
    return secrets.randbits(62)


class AlertWatch(models.Model):
    """What the alert tick handler last observed of one instrument (one row per instrument).

    ``last_price``/``last_tick_at``: the previous observed ticker; ``observed_at``: when the
    handler observed it (wall clock, UTC; compared with ``Alert.armed_at``). ``history``:
    ``[[tick epoch s, price, observed epoch s], ...]`` within the longest ``moving_*`` window of
    the instrument's active alerts. ``bar_closes``: ``{bar seconds: [close of the last closed
    bar, observed epoch s]}`` for ``once_per_bar_close``. ``version`` changes on every change of
    the instrument's active alerts, so each process's in-memory index (``alerts.index``) knows
    when to reload them. The handler locks these rows (``SKIP LOCKED``), never the alerts'.
    """

    instrument = models.OneToOneField(
        Instrument, on_delete=models.CASCADE, primary_key=True, related_name="alert_watch"
    )
    version = models.BigIntegerField(default=new_version)
    last_price = PriceField(null=True, blank=True)
    last_tick_at = models.DateTimeField(null=True, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)
    history = models.JSONField(default=list, blank=True)
    bar_closes = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.last_price} {self.last_tick_at}"


class AlertEvent(models.Model):
    """One fire of an alert: the exact triggering price, the previous price and the tick's time.
    ``idempotency_key`` (alert id + tick time + price) is unique, so two feed processes handling
    overlapping batches write it once."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    price = PriceField()
    previous_price = PriceField(null=True, blank=True)
    tick_time = models.DateTimeField()
    idempotency_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-tick_time", "-id"]

    def __str__(self) -> str:
        return f"{self.alert_id} @ {self.price} {self.tick_time:%Y-%m-%d %H:%M:%S}"


class Notification(models.Model):
    """An in-app notification (the bell): unread while ``read_at`` is null."""

    class Kind(models.TextChoices):
        ALERT = "alert"
        ORDER = "order"
        BOT = "bot"
        QUIZ = "quiz"
        CHANNEL = "channel"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(max_length=300)
    event = models.OneToOneField(
        AlertEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="notification"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return f"{self.user} {self.kind} {self.text[:40]}"


class NotificationChannel(models.Model):
    """Where a user's notifications go besides the app: a Telegram chat or an email address.

    A Telegram channel is created pending with a one-time ``link_token`` (valid
    ``LINK_TOKEN_LIFETIME``); the bot's ``/start <token>`` update sets ``chat_id`` and
    ``verified``. An email channel is verified by the code mailed to ``address``. Only
    verified, enabled channels receive deliveries; a 403 from Telegram (the user blocked the
    bot) sets ``disabled_at``/``disabled_reason``. ``language`` (ko|en) is the language of the
    messages sent there.
    """

    class Kind(models.TextChoices):
        TELEGRAM = "telegram"
        EMAIL = "email"

    class Language(models.TextChoices):
        KO = "ko", "한국어"
        EN = "en", "English"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_channels")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    address = models.EmailField(blank=True, help_text="email channels")
    chat_id = models.BigIntegerField(null=True, blank=True, help_text="Telegram chat id, set by linking")
    telegram_username = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    link_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    link_token_expires_at = models.DateTimeField(null=True, blank=True)
    verify_code_hash = models.CharField(max_length=128, blank=True)
    verify_attempts = models.PositiveSmallIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "address"], condition=models.Q(kind="email"), name="channel_unique_email"
            ),
            models.UniqueConstraint(
                fields=["user", "chat_id"], condition=models.Q(kind="telegram"), name="channel_unique_chat"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.kind} {self.address or self.chat_id or '(pending)'}"

    @property
    def active(self) -> bool:
        return self.verified and self.disabled_at is None


class Delivery(models.Model):
    """One notification sent on one channel: the delivery log (admin, read-only).

    Unique per (notification, channel), so a notification is never queued twice on a channel;
    a worker claims the row (``claimed_until`` lease) before sending, so it is never sent twice.
    ``state``: queued -> sent | failed (permanent: the chat blocked the bot, a bad address) |
    gave_up (network/5xx errors on every one of ``ALERTS["DELIVERY_MAX_ATTEMPTS"]`` tries).
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        FAILED = "failed"
        GAVE_UP = "gave_up"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries")
    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once")]
        indexes = [models.Index(fields=["state", "created_at"], name="delivery_state")]

    def __str__(self) -> str:
        return f"{self.notification_id} -> {self.channel} {self.state}"


class NotificationPreference(models.Model):
    """A user's opt-in to one account event (``accounts.events.EVENTS``: order filled/expired,
    bot entered/exited, quiz daily cap) and the channels it goes to (``app`` always: the
    notification list; ``telegram``/``email`` on the user's active channels of that kind). No
    row: the event is not notified."""

    Event = models.TextChoices("Event", [(e.upper(), e) for e in account_events.EVENTS])

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=20, choices=Event.choices)
    channels = models.JSONField(default=list, blank=True, help_text='e.g. ["app", "telegram"]')
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "event"]
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="preference_once")]

    def __str__(self) -> str:
        return f"{self.user} {self.event} {self.channels}"
