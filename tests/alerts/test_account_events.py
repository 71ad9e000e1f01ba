"""Account notifications as opt-in events: the preference API, and the events where they happen
(trading: fill, expiry; bots: entry, exit; quiz: the daily cap) reaching only opted-in users."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from alerts import services
from alerts.models import Delivery, Notification, NotificationChannel, NotificationPreference
from tests.accounts.factories import UserFactory
from tests.bots.test_bot import btc as bot_btc  # noqa: F401  (a fixture)
from tests.bots.test_bot import clock, kst, make_bot, tick  # noqa: F401  (clock is a fixture)
from tests.quiz.factories import AttemptFactory, QuestionFactory
from trading import services as trading

pytestmark = pytest.mark.django_db
URL = "/api/v1/notification-preferences/"
SEOUL = ZoneInfo("Asia/Seoul")


def notes(user, kind):
    return list(Notification.objects.filter(user=user, kind=kind).values_list("text", flat=True))


def test_preferences_default_off_and_put_opts_in_with_app_added(auth_client, user):
    body = auth_client.get(URL).json()["events"]
    assert body == {e: [] for e in ("order_filled", "order_expired", "bot_entered", "bot_exited", "quiz_daily_cap")}
    r = auth_client.put(URL, {"events": {"order_filled": ["telegram"], "quiz_daily_cap": ["app"]}}, format="json")
    assert r.status_code == 200
    assert r.json()["events"]["order_filled"] == ["app", "telegram"]
    assert r.json()["events"]["quiz_daily_cap"] == ["app"]
    r = auth_client.patch(URL, {"events": {"order_filled": []}}, format="json")
    assert r.json()["events"]["order_filled"] == [] and r.json()["events"]["quiz_daily_cap"] == ["app"]


@pytest.mark.parametrize(
    "events, field",
    [({"order_shipped": ["app"]}, "events.order_shipped"), ({"order_filled": ["sms"]}, "events.order_filled")],
)
def test_a_bad_preference_is_a_400_naming_it_and_changes_nothing(auth_client, user, events, field):
    auth_client.put(URL, {"events": {"bot_exited": ["app"]}}, format="json")
    r = auth_client.put(URL, {"events": {"bot_entered": ["app"], **events}}, format="json")
    assert r.status_code == 400 and field in str(r.json()["error"])
    assert list(NotificationPreference.objects.filter(user=user).values_list("event", flat=True)) == ["bot_exited"]


def test_preferences_need_a_login(api_client):
    assert api_client.get(URL).status_code in (401, 403)
    assert api_client.put(URL, {"events": {"order_filled": ["app"]}}, format="json").status_code in (401, 403)


def test_a_market_fill_notifies_only_the_opted_in_user_on_their_channels(user, btc, django_capture_on_commit_callbacks):
    other = UserFactory()
    services.preferences_set(user=user, events={"order_filled": ["app", "email"]})
    NotificationChannel.objects.create(user=user, kind="email", address="me@example.com", verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        order, _ = trading.order_place(user=user, instrument_id=btc.pk, side="buy", type="market", quantity="0.01")
        trading.order_place(user=other, instrument_id=btc.pk, side="buy", type="market", quantity="0.01")
    [text] = notes(user, "order")
    assert f"#{order.pk}" in text and "BTC/KRW" in text and "Order filled" in text
    assert notes(other, "order") == []
    assert Delivery.objects.filter(notification__user=user, channel__kind="email").count() == 1


def test_an_expired_day_order_notifies_when_opted_in(user, btc, django_capture_on_commit_callbacks):
    services.preferences_set(user=user, events={"order_expired": ["app"]})
    order, _ = trading.order_place(
        user=user, instrument_id=btc.pk, side="buy", type="limit", quantity="0.01", limit_price="90000000",
        time_in_force="DAY",
    )  # fmt: skip
    assert notes(user, "order") == []  # placing is not an event
    with django_capture_on_commit_callbacks(execute=True):
        assert trading.orders_expire(now=order.expires_at) == 1
    [text] = notes(user, "order")
    assert "Order expired" in text and f"#{order.pk}" in text


def test_a_bot_entry_and_exit_notify_when_opted_in(clock, user, bot_btc, django_capture_on_commit_callbacks):  # noqa: F811
    services.preferences_set(user=user, events={"bot_entered": ["app"], "bot_exited": ["app"]})
    bot = make_bot(user, bot_btc)
    with django_capture_on_commit_callbacks(execute=True):
        tick(clock, kst("2025-09-24"), "159680000")
        tick(clock, kst("2025-09-24", "11:00:00"), "161200000")  # reaches the target: enters
        tick(clock, kst("2025-09-25", "09:00:03"), "160700000")  # the next day's open: exits
    texts = notes(user, "bot")
    assert len(texts) == 2
    assert texts[1].startswith("봇 진입 · Bot entered") and f"#{bot.pk}" in texts[1]  # newest first
    assert texts[0].startswith("봇 청산 · Bot exited")


def test_reaching_the_quiz_cap_notifies_once(settings, django_capture_on_commit_callbacks):
    from quiz import services as quiz

    settings.QUIZ = {**settings.QUIZ, "DAILY_REWARD_CAP": Decimal("100000")}
    user = UserFactory()
    services.preferences_set(user=user, events={"quiz_daily_cap": ["app"]})
    now = datetime(2025, 6, 17, 9, 0, tzinfo=SEOUL)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(4):  # 50,000 each: the second reaches the cap, the others pay 50,000 or nothing
            q = QuestionFactory(difficulty=3)
            at = now + timedelta(minutes=i)
            a = AttemptFactory(user=user, question=q, created_at=at, expires_at=at + timedelta(minutes=10))
            quiz.quiz_attempt_answer(user=user, attempt_id=a.pk, choice=q.correct_choice, now=at)
    assert notes(user, "quiz") == ["퀴즈 오늘 한도 도달 · Quiz daily cap reached: 100,000 KRW"]
