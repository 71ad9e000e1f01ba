"""``GET /api/v1/sessions/krx/``: KRX's session at the market's present (the demo clock's
instant in a replay), with the message a KRX market order would be refused with, which the
ticket shows (and disables its button with) before the order."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from markets.clock import demo_clock_clear, demo_clock_install
from markets.sources.clock import DemoClock
from tests.trading.conftest import KRX_AFTER_CLOSE, KRX_OPEN
from trading import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock_at():
    def install(instant):
        # a 1x clock standing at ``instant`` now (a minute of slack for the test's own run)
        now = datetime.now(UTC)
        demo_clock_install(clock=DemoClock(start=instant, end=instant + timedelta(hours=1), speed=1, wall_start=now))

    yield install
    demo_clock_clear()


def test_the_state_follows_the_demo_clock_and_carries_the_order_refusal(client, clock_at):
    clock_at(KRX_AFTER_CLOSE)
    body = client.get(reverse("krx-session")).json()
    assert body["open"] is False and body["enforced"] is True and body["market"] == "krx"
    assert body["message"] == services.KRX_CLOSED_MESSAGE
    assert datetime.fromisoformat(body["now"]) - KRX_AFTER_CLOSE < timedelta(minutes=1)
    clock_at(KRX_OPEN)
    body = client.get(reverse("krx-session")).json()
    assert body["open"] is True and body["message"] is None


def test_the_message_is_the_one_a_market_order_gets(user, krx, clock_at):
    clock_at(KRX_AFTER_CLOSE)
    state = services.krx_session_state(now=datetime.now(UTC))
    with pytest.raises(services.MarketClosed) as refused:
        services.order_place(
            user=user, instrument_id=krx["005930"].pk, side="buy", type="market", quantity="1", now=datetime.now(UTC)
        )
    assert state["message"] in str(refused.value)


def test_not_enforced_means_no_message(client, settings, clock_at):
    settings.TRADING = {**settings.TRADING, "KRX_ENFORCE_SESSION": False}
    clock_at(KRX_AFTER_CLOSE)
    body = client.get(reverse("krx-session")).json()
    assert body["open"] is False and body["enforced"] is False and body["message"] is None


def test_the_ticket_has_the_session_warning_slot(client, user):
    client.force_login(user)
    html = client.get(reverse("portfolio-page")).content.decode()
    assert 'id="pf-session"' in html
