"""Delivery by Telegram and email against a local fake Bot API server: linking (webhook and
``telegram_poll --once``), sendMessage, 429 ``retry_after``, 403 disables, 5xx/network backoff,
idempotency, pacing on a fake clock, and the email's language, exact price and Seoul time."""

import re
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command

from alerts import delivery, services
from alerts.models import AlertEvent, Delivery, Notification, NotificationChannel
from alerts.pacing import Pacer
from tests.alerts.fake_telegram import FakeTelegram, start_update
from tests.alerts.test_services import feed

pytestmark = pytest.mark.django_db
TOKEN = "123456:TEST-token"
SECRET = "s3cret-webhook"


class FakeClock:
    """Monotonic seconds that move only when someone sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)
            self.t += seconds


@pytest.fixture(autouse=True)
def _tasks_run_in_process(eager_celery):
    """Deliveries are Celery tasks: run them here, also when the suite runs with a broker."""


@pytest.fixture
def clock():
    c = FakeClock()
    delivery.set_pacer(Pacer(rate=25, chat_interval=1.0, clock=c, sleep=c.sleep))
    yield c
    delivery.set_pacer(None)


@pytest.fixture
def tg(settings, clock):
    with FakeTelegram(TOKEN, clock=clock) as fake:
        settings.TELEGRAM_API_URL = fake.url
        settings.TELEGRAM_BOT_TOKEN = TOKEN
        settings.TELEGRAM_BOT_USERNAME = "tradesite_test_bot"
        settings.TELEGRAM_WEBHOOK_SECRET = SECRET
        yield fake


def linked(user, chat_id=555001, language="en"):
    channel, _ = delivery.telegram_link_start(user=user, language=language)
    return delivery.telegram_link(chat_id=chat_id, token=channel.link_token)


def verified_email(user, address="learner@example.com", language="en"):
    ch = delivery.email_channel_create(user=user, address=address, language=language)
    NotificationChannel.objects.filter(pk=ch.pk).update(verified=True)
    ch.refresh_from_db()
    return ch


def webhook(client, update, secret=SECRET):
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret} if secret is not None else {}
    return client.post("/telegram/webhook/", data=update, content_type="application/json", **headers)


# --- linking -----------------------------------------------------------------------------
def test_link_flow_by_webhook(auth_client, user, tg, client):
    r = auth_client.post("/api/v1/notification-channels/telegram/", {"language": "ko"}, format="json")
    assert r.status_code == 201
    token = r.json()["token"]
    assert r.json()["link"] == f"https://t.me/tradesite_test_bot?start={token}"
    assert NotificationChannel.objects.get(user=user).verified is False

    r = webhook(client, start_update(1, 777001, f"/start {token}"))
    assert r.status_code == 200 and r.json() == {"ok": True, "result": "linked"}
    ch = NotificationChannel.objects.get(user=user)
    assert (ch.chat_id, ch.verified, ch.active, ch.link_token, ch.language) == (777001, True, True, None, "ko")
    assert tg.sent[-1][1] == 777001 and "연결" in tg.sent[-1][2]

    # the token is spent: another chat cannot take the channel over
    r = webhook(client, start_update(2, 999999, f"/start {token}"))
    assert r.json()["result"] == "bad_token"
    ch.refresh_from_db()
    assert ch.chat_id == 777001
    assert NotificationChannel.objects.filter(chat_id=999999).count() == 0

    listed = auth_client.get("/api/v1/notification-channels/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [(c["kind"], c["chat_id"], c["active"]) for c in rows] == [("telegram", 777001, True)]


def test_expired_token_links_nothing(user, tg):
    channel, _ = delivery.telegram_link_start(user=user)
    NotificationChannel.objects.filter(pk=channel.pk).update(link_token_expires_at=channel.created_at)
    assert delivery.telegram_link(chat_id=1, token=channel.link_token) is None
    channel.refresh_from_db()
    assert channel.chat_id is None and not channel.verified


@pytest.mark.parametrize("secret", ["wrong", "", None])
def test_webhook_refuses_a_wrong_secret_and_changes_nothing(user, tg, client, secret):
    channel, _ = delivery.telegram_link_start(user=user)
    r = webhook(client, start_update(1, 777001, f"/start {channel.link_token}"), secret=secret)
    assert r.status_code == 403
    channel.refresh_from_db()
    assert channel.chat_id is None and not channel.verified and channel.link_token
    assert tg.calls == []


def test_webhook_refuses_everything_without_a_configured_secret(user, tg, client, settings):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    channel, _ = delivery.telegram_link_start(user=user)
    assert webhook(client, start_update(1, 5, f"/start {channel.link_token}"), secret="").status_code == 403
    channel.refresh_from_db()
    assert not channel.verified


def test_webhook_bad_body_is_400(tg, client):
    r = client.post(
        "/telegram/webhook/", data="[1]", content_type="application/json", HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=SECRET
    )
    assert r.status_code == 400


def test_poll_once_links_and_confirms(user, tg, capsys):
    channel, _ = delivery.telegram_link_start(user=user)
    tg.updates = [start_update(41, 888001, "hello"), start_update(42, 888001, f"/start {channel.link_token}")]
    call_command("telegram_poll", "--once")
    assert "2 updates: ignored 1, linked 1" in capsys.readouterr().out
    channel.refresh_from_db()
    assert channel.chat_id == 888001 and channel.verified
    gets = [p for _, m, p in tg.calls if m == "getUpdates"]
    assert gets[-1]["offset"] == 43 and tg.updates == []  # confirmed: not handled again
    call_command("telegram_poll", "--once")
    assert "0 updates: none" in capsys.readouterr().out


# --- sending -----------------------------------------------------------------------------
def _alert_fire(user, btc, btc_series, channels, django_capture_on_commit_callbacks):
    level = Decimal(btc_series[10][1])
    alert = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=level, channels=channels)
    with django_capture_on_commit_callbacks(execute=True):
        feed(btc, btc_series[:40])
    return alert, AlertEvent.objects.get(alert=alert)


def test_alert_fire_is_delivered_once_by_telegram_and_email(
    user, btc, btc_series, tg, django_capture_on_commit_callbacks
):
    tele = linked(user, chat_id=555001)
    email = verified_email(user, language="ko")
    mail.outbox.clear()
    tg.sent.clear()
    alert, event = _alert_fire(user, btc, btc_series, ["app", "telegram", "email"], django_capture_on_commit_callbacks)

    rows = Delivery.objects.filter(event=event)
    assert sorted((d.channel_id, d.state, d.attempts) for d in rows) == sorted(
        [(tele.pk, "sent", 1), (email.pk, "sent", 1)]
    )
    assert all(d.sent_at is not None for d in rows)
    assert len(tg.sent) == 1 and tg.sent[0][1] == 555001
    price = delivery.format_price(event.price)
    assert price in tg.sent[0][2] and "KST (UTC+09:00)" in tg.sent[0][2]

    (msg,) = mail.outbox
    assert msg.to == ["learner@example.com"]
    assert "가격" in msg.body and "BTC/KRW" in msg.subject
    assert f"{price} KRW" in msg.body
    assert delivery.format_time(event.tick_time) in msg.body
    assert event.tick_time.astimezone(delivery.SEOUL).strftime("%H:%M") in msg.body

    # never twice: a second run of the task for the same row sends nothing
    for d in rows:
        assert delivery.deliver(d.pk) == "sent"
    assert len(tg.sent) == 1 and len(mail.outbox) == 1


def test_email_in_english_with_the_exact_price_and_seoul_time(user, btc, tg, django_capture_on_commit_callbacks):
    verified_email(user, language="en")
    mail.outbox.clear()
    from markets.models import Ticker

    alert = services.alert_create(
        user=user, instrument_id=btc.pk, condition="crossing_up", level=Decimal("100000000"), channels=["email"]
    )
    from datetime import UTC, datetime

    series = [
        (datetime(2026, 6, 28, 8, 0, tzinfo=UTC), "99999000"),
        (datetime(2026, 6, 28, 8, 15, tzinfo=UTC), "100001234.5"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        for t, p in series:
            Ticker.objects.filter(instrument=btc).update(last_price=Decimal(p), time=t)
            services.alerts_on_tick(instrument_ids=[btc.pk])
    assert AlertEvent.objects.filter(alert=alert).count() == 1
    (msg,) = mail.outbox
    assert "crossed up 100,000,000" in msg.subject
    assert "Price: 100,001,234.5 KRW (previous 99,999,000)" in msg.body
    assert "Time: 2026-06-28 17:15:00 KST (UTC+09:00)" in msg.body


def test_429_retry_after_is_honoured(user, tg, clock):
    ch = linked(user)
    tg.sent.clear()
    tg.script["sendMessage"] = [FakeTelegram.error(429, "Too Many Requests: retry after 3", retry_after=3)]
    note = services.notify(user=user, kind="order", text="Your order filled", channels=["telegram"])
    d = Delivery.objects.get(notification=note, channel=ch)
    first = clock()
    assert delivery.deliver(d.pk) == "sent"
    sends = [t for t, m, _ in tg.calls if m == "sendMessage"]
    assert len(sends) == 2 and sends[1] - sends[0] >= 3.0 and sends[0] >= first
    d.refresh_from_db()
    assert (d.state, d.attempts) == ("sent", 2) and "429" in d.last_error


def test_403_disables_the_channel_and_tells_the_user(user, tg, django_capture_on_commit_callbacks):
    ch = linked(user, chat_id=4242)
    tg.blocked.add(4242)
    with django_capture_on_commit_callbacks(execute=True):
        note = services.notify(user=user, kind="bot", text="Bot entered", channels=["telegram"])
    d = Delivery.objects.get(notification=note)
    assert (d.state, d.attempts) == ("failed", 1) and "403" in d.last_error
    ch.refresh_from_db()
    assert ch.disabled_at is not None and not ch.active and "blocked" in ch.disabled_reason
    told = Notification.objects.filter(user=user, kind="channel")
    assert told.count() == 1 and "blocked" in told.get().text
    # a disabled channel gets no more deliveries, and an alert cannot list it
    note2 = services.notify(user=user, kind="bot", text="Bot exited", channels=["telegram"])
    assert not Delivery.objects.filter(notification=note2).exists()
    # linking the chat again re-enables the same channel
    again, _ = delivery.telegram_link_start(user=user)
    assert delivery.telegram_link(chat_id=4242, token=again.link_token).pk == ch.pk
    ch.refresh_from_db()
    assert ch.active and NotificationChannel.objects.filter(user=user).count() == 1


def test_5xx_is_retried_with_backoff(user, tg, clock, settings):
    settings.ALERTS = {**settings.ALERTS, "DELIVERY_BACKOFF_SECONDS": 2.0}
    linked(user)
    tg.script["sendMessage"] = [FakeTelegram.error(502, "Bad Gateway"), FakeTelegram.error(500, "Internal")]
    note = services.notify(user=user, kind="quiz", text="Daily cap reached", channels=["telegram"])
    d = Delivery.objects.get(notification=note)
    assert delivery.deliver(d.pk) == "sent"
    d.refresh_from_db()
    assert d.attempts == 3
    assert [s for s in clock.sleeps if s >= 2] == [2.0, 4.0]
    assert len([m for m in tg.methods() if m == "sendMessage"]) == 3


def test_network_errors_give_up_after_the_last_attempt(user, tg, clock, settings):
    settings.ALERTS = {**settings.ALERTS, "DELIVERY_MAX_ATTEMPTS": 4, "DELIVERY_BACKOFF_SECONDS": 1.0}
    linked(user)
    note = services.notify(user=user, kind="quiz", text="x", channels=["telegram"])
    d = Delivery.objects.get(notification=note)
    settings.TELEGRAM_API_URL = "http://127.0.0.1:18499"  # nothing listens there
    assert delivery.deliver(d.pk) == "gave_up"
    d.refresh_from_db()
    assert d.attempts == 4 and d.sent_at is None and "network" in d.last_error
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert delivery.deliver(d.pk) == "gave_up"  # not retried by a stray task


def test_400_fails_without_retry(user, tg, clock):
    linked(user)
    tg.script["sendMessage"] = [FakeTelegram.error(400, "Bad Request: chat not found")]
    note = services.notify(user=user, kind="order", text="x", channels=["telegram"])
    d = Delivery.objects.get(notification=note)
    assert delivery.deliver(d.pk) == "failed"
    assert len([m for m in tg.methods() if m == "sendMessage"]) == 1 and clock.sleeps == []


def test_a_claimed_row_is_not_sent_by_a_second_worker(user, tg):
    linked(user)
    tg.sent.clear()
    note = services.notify(user=user, kind="order", text="x", channels=["telegram"])
    d = Delivery.objects.get(notification=note)
    from django.utils import timezone

    Delivery.objects.filter(pk=d.pk).update(claimed_until=timezone.now() + delivery.LEASE)
    assert delivery.deliver(d.pk) == "queued"  # another worker holds it
    assert tg.sent == []
    Delivery.objects.filter(pk=d.pk).update(claimed_until=timezone.now() - delivery.LEASE)
    assert delivery.deliver(d.pk) == "sent"  # a lapsed lease (crashed worker) is taken over
    assert len(tg.sent) == 1


def test_queueing_twice_writes_one_row_per_channel(user, tg):
    linked(user)
    verified_email(user)
    note = Notification.objects.create(user=user, kind="order", text="x")
    first = services.deliveries_queue([(note, ["telegram", "email", "app"])])
    again = services.deliveries_queue([(note, ["telegram", "email"])])
    assert len(first) == 2 and again == [] and Delivery.objects.filter(notification=note).count() == 2


def test_pacing_per_chat_and_overall_on_the_fake_clock(user, tg, clock, django_capture_on_commit_callbacks):
    from tests.accounts.factories import UserFactory

    users = [user] + [UserFactory() for _ in range(59)]
    for k, u in enumerate(users):
        linked(u, chat_id=10_000 + k)
    tg.sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for u in users:
            for n in range(3):
                services.notify(user=u, kind="order", text=f"fill {n}", channels=["telegram"])
    assert len(tg.sent) == 180 and Delivery.objects.filter(state="sent").count() == 180
    times = sorted(t for t, _, _ in tg.sent)
    # overall: never more than 25 + 1 in any 1-second window
    worst = max(sum(1 for t in times[i:] if t < times[i] + 1.0) for i in range(len(times)))
    assert worst <= 26
    assert times[-1] - times[0] >= (180 - 1) / 25 - 1e-6
    # per chat: at least 1 s between two messages
    by_chat: dict[int, list[float]] = {}
    for t, chat, _ in tg.sent:
        by_chat.setdefault(chat, []).append(t)
    assert min(b - a for ts in by_chat.values() for a, b in zip(ts, ts[1:], strict=False)) >= 1.0 - 1e-9


def test_pacer_reserve_arithmetic():
    c = FakeClock()
    p = Pacer(rate=10, chat_interval=1.0, clock=c, sleep=c.sleep)
    assert [p.reserve("a"), p.reserve("b"), p.reserve("a")] == [1000.0, 1000.1, 1001.0]
    p.pause(5)
    assert p.reserve("c") == 1005.0
    p.pause(10, chat="d")
    assert p.reserve("d") == 1010.0 and p.reserve("e") == pytest.approx(1005.1)
    with pytest.raises(ValueError):
        Pacer(rate=0)


def test_deliveries_run_as_celery_tasks_after_commit(user, tg, django_capture_on_commit_callbacks):
    linked(user)
    tg.sent.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = services.notify(user=user, kind="order", text="filled", channels=["telegram"])
    assert tg.sent == [] and Delivery.objects.get(notification=note).state == "queued"
    for cb in callbacks:
        cb()
    assert len(tg.sent) == 1 and Delivery.objects.get(notification=note).state == "sent"


# --- email channels ------------------------------------------------------------------------
def test_email_channel_verification(auth_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = auth_client.post(
            "/api/v1/notification-channels/",
            {"kind": "email", "address": "me@example.com"},
            format="json",
            HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9",
        )
    assert r.status_code == 201 and r.json()["verified"] is False and r.json()["language"] == "ko"
    cid = r.json()["id"]
    (msg,) = mail.outbox
    assert msg.to == ["me@example.com"] and "인증 코드" in msg.body
    code = re.search(r"\b(\d{6})\b", msg.body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    r = auth_client.post(f"/api/v1/notification-channels/{cid}/verify/", {"code": wrong}, format="json")
    assert r.status_code == 400 and "code" in str(r.json())
    ch = NotificationChannel.objects.get(pk=cid)
    assert not ch.verified and ch.verify_attempts == 1
    r = auth_client.post(f"/api/v1/notification-channels/{cid}/verify/", {"code": code}, format="json")
    assert r.status_code == 200 and r.json()["verified"] is True and r.json()["active"] is True


def test_channel_input_errors_name_the_field(auth_client, user):
    for body, field in [
        ({"kind": "telegram"}, "kind"),
        ({"kind": "email"}, "address"),
        ({"kind": "email", "address": "not-an-address"}, "address"),
        ({"kind": "pigeon"}, "kind"),
    ]:
        r = auth_client.post("/api/v1/notification-channels/", body, format="json")
        assert r.status_code == 400 and field in str(r.json()), body
    assert NotificationChannel.objects.count() == 0
    r = auth_client.post("/api/v1/notification-channels/", {"kind": "email", "address": "a@b.co"}, format="json")
    assert r.status_code == 201
    r = auth_client.post("/api/v1/notification-channels/", {"kind": "email", "address": "A@b.co"}, format="json")
    assert r.status_code == 400 and "address" in str(r.json())
    assert NotificationChannel.objects.count() == 1


def test_alert_channels_need_an_active_channel(auth_client, user, btc):
    body = {"instrument": btc.pk, "condition": "crossing", "level": "1", "channels": ["app", "telegram"]}
    r = auth_client.post("/api/v1/alerts/", body, format="json")
    assert r.status_code == 400 and "channels" in str(r.json())
    linked(user)
    assert auth_client.post("/api/v1/alerts/", body, format="json").status_code == 201


def test_users_see_only_their_own_channels(auth_client, user, api_client):
    from tests.accounts.factories import UserFactory

    other = UserFactory()
    theirs = verified_email(other, address="other@example.com")
    mine = verified_email(user, address="mine@example.com")
    listed = auth_client.get("/api/v1/notification-channels/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [c["id"] for c in rows] == [mine.pk]
    base = f"/api/v1/notification-channels/{theirs.pk}/"
    assert auth_client.get(base).status_code == 404
    assert auth_client.delete(base).status_code == 404
    assert auth_client.post(base + "verify/", {"code": "123456"}, format="json").status_code == 404
    assert NotificationChannel.objects.filter(pk=theirs.pk).exists()
    assert auth_client.delete(f"/api/v1/notification-channels/{mine.pk}/").status_code == 204
    assert not NotificationChannel.objects.filter(pk=mine.pk).exists()
    assert api_client.get("/api/v1/notification-channels/").status_code == 401
    assert api_client.post("/api/v1/notification-channels/telegram/").status_code == 401


def test_notification_deliveries_log_is_per_user(auth_client, user, tg):
    from tests.accounts.factories import UserFactory

    linked(user)
    note = services.notify(user=user, kind="order", text="x", channels=["telegram"])
    r = auth_client.get(f"/api/v1/notifications/{note.pk}/deliveries/")
    assert r.status_code == 200 and [d["state"] for d in r.json()] == ["queued"]
    other = services.notify(user=UserFactory(), kind="order", text="y")
    assert auth_client.get(f"/api/v1/notifications/{other.pk}/deliveries/").status_code == 404


def test_channels_page(client, user):
    assert client.get("/notifications/channels/").status_code == 302  # log in first
    client.force_login(user)
    r = client.get("/notifications/channels/")
    body = r.content.decode()
    assert r.status_code == 200 and "Link Telegram" in body and "텔레그램 연결" in body and "이메일" in body
    assert "csrftoken" in r.cookies
