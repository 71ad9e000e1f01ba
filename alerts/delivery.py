"""Notification channels and delivery (services): Telegram linking, email verification, the
delivery log and the sender.

- ``telegram_link_start``: a pending Telegram channel with a one-time token; the user opens
  ``https://t.me/<bot>?start=<token>`` and the bot's ``/start <token>`` update (webhook or
  ``manage.py telegram_poll``) reaches ``telegram_handle_update``, which links the chat.
- ``email_channel_create`` mails a 6-digit code; ``email_channel_verify`` checks it.
- ``deliver``: sends one queued ``Delivery`` (the Celery task ``alerts.tasks.deliver`` runs it);
  the rows are written and the task scheduled by ``alerts.services.deliveries_queue``
  (this module imports no task: ``services -> tasks -> delivery``, one way). It claims a
  queued row (a lease, so it is never sent twice), paces Telegram (``alerts.pacing``: 1/s per
  chat, ``TELEGRAM_RATE_PER_SECOND`` overall), honours 429
  ``retry_after``, disables the channel on 403 (and tells the user in the app), retries
  network/5xx errors with doubling backoff up to ``DELIVERY_MAX_ATTEMPTS`` (then ``gave_up``).

Messages are in the channel's language (ko|en) with the exact price and the time in
Asia/Seoul with its zone. Errors: ``InvalidChannel`` (400, naming the field).
"""

import hashlib
import hmac
import logging
import secrets
import smtplib
from datetime import timedelta
from decimal import Decimal

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.models import AlertEvent, Delivery, Notification, NotificationChannel
from alerts.pacing import Pacer
from alerts.telegram import TelegramClient, TelegramError, start_token
from core.exceptions import DomainError
from core.money import plain
from core.timeparse import SEOUL
from trading import services as trading_services

logger = logging.getLogger(__name__)
DELIVERY_KINDS = (NotificationChannel.Kind.TELEGRAM, NotificationChannel.Kind.EMAIL)
LEASE = timedelta(minutes=10)
MAX_429 = 10
MAX_VERIFY_ATTEMPTS = 5
CHANNELS_PAGE = "/notifications/channels/"


class InvalidChannel(DomainError):
    code = "invalid_channel"


def _cfg(name: str):
    return settings.ALERTS[name]


# --- the sender's collaborators (replaceable in tests) -------------------------------------
_PACER: Pacer | None = None
_SESSION = requests.Session()


def get_pacer() -> Pacer:
    """The process's Telegram pacer (built from ``settings.ALERTS`` on first use)."""
    global _PACER
    if _PACER is None:
        _PACER = Pacer(rate=_cfg("TELEGRAM_RATE_PER_SECOND"), chat_interval=_cfg("TELEGRAM_CHAT_INTERVAL_SECONDS"))
    return _PACER


def set_pacer(pacer: Pacer | None) -> None:
    global _PACER
    _PACER = pacer


def telegram_client() -> TelegramClient:
    return TelegramClient(base_url=settings.TELEGRAM_API_URL, token=settings.TELEGRAM_BOT_TOKEN, session=_SESSION)


# --- messages --------------------------------------------------------------------------------
CONDITION_TEXT = {
    "en": {
        "crossing": "crossed",
        "crossing_up": "crossed up",
        "crossing_down": "crossed down",
        "greater_than": "is above",
        "less_than": "is below",
        "entering_channel": "entered the channel",
        "exiting_channel": "left the channel",
        "inside_channel": "is inside the channel",
        "outside_channel": "is outside the channel",
        "moving_up": "moved up by",
        "moving_down": "moved down by",
        "moving_up_pct": "moved up by",
        "moving_down_pct": "moved down by",
    },
    "ko": {
        "crossing": "교차",
        "crossing_up": "상향 돌파",
        "crossing_down": "하향 돌파",
        "greater_than": "초과",
        "less_than": "미만",
        "entering_channel": "채널 진입",
        "exiting_channel": "채널 이탈",
        "inside_channel": "채널 안",
        "outside_channel": "채널 밖",
        "moving_up": "상승 폭",
        "moving_down": "하락 폭",
        "moving_up_pct": "상승률",
        "moving_down_pct": "하락률",
    },
}
TEXT = {
    "en": {
        "subject": "tradesite alert: {symbol} {cond} {level}",
        "alert": "{symbol} ({exchange}) {cond} {level}\nPrice: {price} {quote} (previous {previous})\nTime: {time}",
        "note": "{text}\nTime: {time}",
        "note_subject": "tradesite: {kind}",
        "footer": "\n\nManage notifications: {page}",
        "code_subject": "tradesite: your email verification code",
        "code": "Your code is {code}. Enter it on {page} within {minutes} minutes.",
        "linked": "Linked: tradesite notifications will arrive in this chat.",
        "bad_token": "This link has expired or was already used. Create a new one on {page}.",
        "blocked": "Telegram notifications are off: the bot was blocked in that chat. Link it again on {page}.",
    },
    "ko": {
        "subject": "tradesite 알림: {symbol} {cond} {level}",
        "alert": "{symbol} ({exchange}) {cond} {level}\n가격: {price} {quote} (직전 {previous})\n시각: {time}",
        "note": "{text}\n시각: {time}",
        "note_subject": "tradesite: {kind}",
        "footer": "\n\n알림 설정: {page}",
        "code_subject": "tradesite: 이메일 인증 코드",
        "code": "인증 코드는 {code} 입니다. {minutes}분 안에 {page} 에 입력하세요.",
        "linked": "연결되었습니다: tradesite 알림이 이 채팅으로 옵니다.",
        "bad_token": "만료되었거나 이미 사용한 링크입니다. {page} 에서 새 링크를 만드세요.",
        "blocked": "텔레그램 알림이 꺼졌습니다: 채팅에서 봇이 차단되었습니다. {page} 에서 다시 연결하세요.",
    },
}


def format_price(value: Decimal | None) -> str:
    """The exact price with thousands separators, no rounding: ``Decimal("100000000.5")`` ->
    ``"100,000,000.5"``; None -> ``"-"``."""
    if value is None:
        return "-"
    text = plain(value) or "0"
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}" + (f".{frac}" if frac else "")


def format_time(t) -> str:
    """``2026-06-28 17:15:00 KST (UTC+09:00)``: Asia/Seoul with the zone."""
    return t.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M:%S KST (UTC+09:00)")


def render(notification: Notification, language: str) -> tuple[str, str]:
    """(subject, body) of a notification in ``language`` (ko|en)."""
    lang = language if language in TEXT else "en"
    t = TEXT[lang]
    event: AlertEvent | None = notification.event
    if event is not None:
        alert = event.alert
        inst = alert.instrument
        pct = alert.condition.endswith("_pct")
        level = alert.value if alert.condition.startswith("moving_") else alert.level
        level_text = format_price(level) + ("%" if pct else "")
        if alert.level2 is not None and "channel" in alert.condition:
            level_text += f" ~ {format_price(alert.level2)}"
        if alert.condition.startswith("moving_") and alert.window_minutes:
            level_text += f" / {alert.window_minutes}" + ("분" if lang == "ko" else " min")
        cond = CONDITION_TEXT[lang].get(alert.condition, alert.condition)
        fields = {
            "symbol": inst.symbol,
            "exchange": inst.exchange,
            "cond": cond,
            "level": level_text,
            "price": format_price(event.price),
            "quote": inst.quote,
            "previous": format_price(event.previous_price),
            "time": format_time(event.tick_time),
        }
        subject = t["subject"].format(**fields)
        body = t["alert"].format(**fields)
        if alert.message:
            body = f"{alert.message}\n{body}"
    else:
        subject = t["note_subject"].format(kind=notification.get_kind_display())
        body = t["note"].format(text=notification.text, time=format_time(notification.created_at))
    return subject, body + t["footer"].format(page=CHANNELS_PAGE)


# --- channels --------------------------------------------------------------------------------
def _check_room(user) -> None:
    if NotificationChannel.objects.filter(user=user).count() >= _cfg("MAX_CHANNELS_PER_USER"):
        raise InvalidChannel(f"at most {_cfg('MAX_CHANNELS_PER_USER')} channels per user", field="kind")


def _language(language: str | None) -> str:
    return language if language in NotificationChannel.Language.values else NotificationChannel.Language.EN


@transaction.atomic
def telegram_link_start(*, user, language: str | None = None) -> tuple[NotificationChannel, str]:
    """A pending Telegram channel with a fresh one-time token (an earlier pending one of the
    user is reused); returns ``(channel, "https://t.me/<bot>?start=<token>")``."""
    channel = (
        NotificationChannel.objects.select_for_update()
        .filter(user=user, kind=NotificationChannel.Kind.TELEGRAM, chat_id__isnull=True)
        .first()
    )
    if channel is None:
        _check_room(user)
        channel = NotificationChannel(user=user, kind=NotificationChannel.Kind.TELEGRAM)
    channel.language = _language(language)
    channel.link_token = secrets.token_urlsafe(24)  # [A-Za-z0-9_-], as a start parameter needs
    channel.link_token_expires_at = timezone.now() + timedelta(minutes=_cfg("LINK_TOKEN_MINUTES"))
    channel.save()
    return channel, f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={channel.link_token}"


@transaction.atomic
def telegram_link(*, chat_id: int, token: str, username: str = "") -> NotificationChannel | None:
    """Link ``chat_id`` to the user whose pending channel holds ``token`` (unexpired); the token
    is spent. Returns the linked channel, or None (unknown/expired token: nothing changes).
    A chat the user had already linked is re-enabled instead of linked twice."""
    channel = (
        NotificationChannel.objects.select_for_update()
        .filter(kind=NotificationChannel.Kind.TELEGRAM, link_token=token, link_token_expires_at__gt=timezone.now())
        .first()
    )
    if channel is None:
        return None
    existing = (
        NotificationChannel.objects.select_for_update()
        .filter(user_id=channel.user_id, kind=NotificationChannel.Kind.TELEGRAM, chat_id=chat_id)
        .exclude(pk=channel.pk)
        .first()
    )
    if existing is not None:
        existing.language = channel.language
        channel.delete()
        channel = existing
    now = timezone.now()
    channel.chat_id = chat_id
    channel.telegram_username = username
    channel.verified, channel.verified_at = True, now
    channel.link_token = channel.link_token_expires_at = None
    channel.disabled_at, channel.disabled_reason = None, ""
    channel.save()
    return channel


def telegram_handle_update(update: dict, *, client: TelegramClient | None = None) -> str:
    """Handle one Bot API update: ``/start <token>`` links the chat and the bot replies.
    Returns ``"linked"``, ``"bad_token"`` or ``"ignored"`` (anything else)."""
    parsed = start_token(update)
    if parsed is None:
        return "ignored"
    chat_id, token, username = parsed
    channel = telegram_link(chat_id=chat_id, token=token, username=username)
    outcome = "linked" if channel is not None else "bad_token"
    lang = channel.language if channel is not None else "en"
    text = TEXT[lang][outcome].format(page=CHANNELS_PAGE)
    try:
        (client or telegram_client()).send_message(chat_id, text)
    except TelegramError as exc:  # the link stands; the reply is a courtesy
        logger.warning("telegram reply to %s failed: %s", chat_id, exc)
    return outcome


def _code_hash(channel_id: int, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{channel_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _send_code(channel: NotificationChannel) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    channel.verify_code_hash = _code_hash(channel.pk, code)
    channel.verify_attempts = 0
    channel.link_token_expires_at = timezone.now() + timedelta(minutes=_cfg("LINK_TOKEN_MINUTES"))
    channel.save(update_fields=["verify_code_hash", "verify_attempts", "link_token_expires_at"])
    t = TEXT[channel.language]
    body = t["code"].format(code=code, page=CHANNELS_PAGE, minutes=_cfg("LINK_TOKEN_MINUTES"))
    address = channel.address
    transaction.on_commit(
        lambda: send_mail(t["code_subject"], body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=True)
    )


@transaction.atomic
def email_channel_create(*, user, address: str, language: str | None = None) -> NotificationChannel:
    """An unverified email channel; a 6-digit code is mailed to ``address`` (after commit).
    Raises ``InvalidChannel`` (``address``) when the user already has it."""
    address = address.strip()
    if NotificationChannel.objects.filter(user=user, kind="email", address__iexact=address).exists():
        raise InvalidChannel("this address is already a channel", field="address")
    _check_room(user)
    try:
        with transaction.atomic():
            channel = NotificationChannel.objects.create(
                user=user, kind=NotificationChannel.Kind.EMAIL, address=address, language=_language(language)
            )
    except IntegrityError:
        raise InvalidChannel("this address is already a channel", field="address") from None
    _send_code(channel)
    return channel


@transaction.atomic
def email_channel_resend(*, channel: NotificationChannel) -> None:
    if channel.kind != NotificationChannel.Kind.EMAIL or channel.verified:
        raise InvalidChannel("only an unverified email channel gets a code", field="kind")
    _send_code(NotificationChannel.objects.select_for_update().get(pk=channel.pk))


def email_channel_verify(*, channel: NotificationChannel, code: str) -> NotificationChannel:
    """Verify an email channel with its mailed code. Raises ``InvalidChannel`` (``code``) when
    wrong (the try is counted), expired, or after ``MAX_VERIFY_ATTEMPTS`` wrong tries (ask
    for a new code)."""
    with transaction.atomic():
        channel = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
        if channel.kind != NotificationChannel.Kind.EMAIL:
            raise InvalidChannel("only email channels are verified by code", field="code")
        if channel.verified:
            return channel
        if (
            not channel.verify_code_hash
            or channel.verify_attempts >= MAX_VERIFY_ATTEMPTS
            or channel.link_token_expires_at is None
            or channel.link_token_expires_at <= timezone.now()
        ):
            raise InvalidChannel("the code has expired; ask for a new one", field="code")
        right = hmac.compare_digest(channel.verify_code_hash, _code_hash(channel.pk, str(code).strip()))
        if right:
            channel.verified, channel.verified_at = True, timezone.now()
            channel.verify_code_hash, channel.link_token_expires_at = "", None
            channel.save()
            return channel
        NotificationChannel.objects.filter(pk=channel.pk).update(verify_attempts=F("verify_attempts") + 1)
    raise InvalidChannel("wrong code", field="code")


def channel_delete(*, channel: NotificationChannel) -> None:
    channel.delete()


# --- sending ---------------------------------------------------------------------------------
def _disable(channel: NotificationChannel, reason: str) -> None:
    with transaction.atomic():
        changed = NotificationChannel.objects.filter(pk=channel.pk, disabled_at__isnull=True).update(
            disabled_at=timezone.now(), disabled_reason=reason[:200]
        )
        if changed:
            text = TEXT[channel.language]["blocked"].format(page=CHANNELS_PAGE)
            note = Notification.objects.create(user_id=channel.user_id, kind=Notification.Kind.CHANNEL, text=text)
            trading_services._push(
                channel.user_id, {"type": "notification", "id": note.pk, "kind": note.kind, "text": note.text}
            )


def _finish(pk: int, state: str, error: str | None = None, **extra) -> str:
    """Close a delivery; ``error`` None keeps the last error seen (a sent row shows its 429s)."""
    if error is not None:
        extra["last_error"] = error[:300]
    Delivery.objects.filter(pk=pk).update(state=state, claimed_until=None, **extra)
    return state


def deliver(delivery_id: int, *, client: TelegramClient | None = None, pacer: Pacer | None = None) -> str:
    """Send one queued delivery; returns its final state (or the state it already had when
    another worker holds or finished it). Never raises on a send error: it is logged on the row."""
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery_id, state=Delivery.State.QUEUED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + LEASE)
    )
    if not claimed:
        return Delivery.objects.filter(pk=delivery_id).values_list("state", flat=True).first() or "missing"
    d = Delivery.objects.select_related("channel", "notification__event__alert__instrument", "notification__user").get(
        pk=delivery_id
    )
    channel = d.channel
    if not channel.active:
        return _finish(d.pk, Delivery.State.FAILED, "channel disabled or not verified")
    subject, body = render(d.notification, channel.language)
    pacer = pacer or get_pacer()
    client = client or telegram_client()
    failures = throttled = 0
    while True:
        Delivery.objects.filter(pk=d.pk).update(attempts=F("attempts") + 1)
        try:
            if channel.kind == NotificationChannel.Kind.TELEGRAM:
                pacer.wait(channel.chat_id)
                client.send_message(channel.chat_id, body)
            else:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [channel.address], fail_silently=False)
        except TelegramError as exc:
            error = str(exc)
            if exc.code == 429:
                throttled += 1
                if throttled > MAX_429:
                    return _finish(d.pk, Delivery.State.GAVE_UP, error)
                # honour retry_after: nothing leaves this process before it (as PTB's limiter)
                pacer.pause(exc.retry_after if exc.retry_after is not None else 1.0)
                Delivery.objects.filter(pk=d.pk).update(last_error=error[:300])
                continue
            if exc.code == 403:
                _disable(channel, exc.description or "blocked by the user")
                return _finish(d.pk, Delivery.State.FAILED, error)
            if not exc.transient:
                return _finish(d.pk, Delivery.State.FAILED, error)
        except (smtplib.SMTPException, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, smtplib.SMTPRecipientsRefused):
                return _finish(d.pk, Delivery.State.FAILED, error)
        else:
            return _finish(d.pk, Delivery.State.SENT, sent_at=timezone.now())
        failures += 1  # a network error, a 5xx, an SMTP hiccup: back off and retry
        if failures >= _cfg("DELIVERY_MAX_ATTEMPTS"):
            return _finish(d.pk, Delivery.State.GAVE_UP, error)
        Delivery.objects.filter(pk=d.pk).update(last_error=error[:300], claimed_until=timezone.now() + LEASE)
        pacer.sleep(_cfg("DELIVERY_BACKOFF_SECONDS") * 2 ** (failures - 1))
