"""The alerts page: list, create with field errors, pause/resume/delete, events, preferences."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from alerts import services
from alerts.models import Alert, AlertEvent, NotificationPreference
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(user):
    c = Client()
    c.force_login(user)
    return c


def test_the_alerts_page_needs_a_login():
    r = Client().get(reverse("alerts-page"))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_the_page_lists_alerts_with_their_events_in_kst_and_the_nav_links_it(page, user, btc):
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=Decimal("91500000"))
    AlertEvent.objects.create(
        alert=a,
        price=Decimal("91510000"),
        previous_price=Decimal("91400000"),
        tick_time=datetime(2026, 6, 28, 9, 15, tzinfo=UTC),
        idempotency_key="k1",
    )
    html = page.get(reverse("alerts-page")).content.decode()
    assert "BTC/KRW" in html and "Crossing · 교차" in html and "91500000" in html
    assert "2026-06-28 18:15:00 KST" in html  # 09:15 UTC shown in Asia/Seoul with its zone
    assert f'href="{reverse("alerts-page")}"' in html  # the nav link
    assert f'href="{reverse("alert-events-page", args=[a.pk])}"' in html


def test_creating_with_a_missing_level_shows_the_field_error_and_writes_nothing(page, btc):
    r = page.post(
        reverse("alerts-page"), {"exchange": "upbit", "symbol": "BTC/KRW", "condition": "crossing", "trigger": "once"}
    )
    assert r.status_code == 400
    assert 'id="level-error"' in r.content.decode() and "needs a level" in r.content.decode()
    assert not Alert.objects.exists()


def test_creating_on_an_unknown_symbol_names_the_symbol(page, btc):
    r = page.post(
        reverse("alerts-page"),
        {"exchange": "upbit", "symbol": "NOPE/KRW", "condition": "greater_than", "level": "1", "trigger": "once"},
    )
    assert r.status_code == 400 and 'id="symbol-error"' in r.content.decode()
    assert not Alert.objects.exists()


def test_creating_an_alert_redirects_and_stores_it(page, user, btc):
    r = page.post(
        reverse("alerts-page"),
        {
            "exchange": "upbit",
            "symbol": "BTC/KRW",
            "condition": "inside_channel",
            "level": "90000000",
            "level2": "92000000",
            "trigger": "every_time",
            "cooldown_seconds": "600",
            "expires_days": "0",
            "channels": ["app"],
        },
    )
    assert r.status_code == 302
    a = Alert.objects.get(user=user)
    assert (a.condition, a.level, a.level2, a.cooldown_seconds, a.expires_at) == (
        "inside_channel",
        Decimal("90000000"),
        Decimal("92000000"),
        600,
        None,
    )


def test_pause_resume_and_delete_and_another_users_alert_is_a_404(page, user, btc):
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="greater_than", level=Decimal("1"))
    theirs = services.alert_create(
        user=UserFactory(), instrument_id=btc.pk, condition="greater_than", level=Decimal("1")
    )
    assert page.post(reverse("alert-pause", args=[a.pk])).status_code == 302
    a.refresh_from_db()
    assert a.state == "paused"
    page.post(reverse("alert-resume", args=[a.pk]))
    a.refresh_from_db()
    assert a.state == "active"
    assert page.post(reverse("alert-pause", args=[theirs.pk])).status_code == 404
    assert page.post(reverse("alert-delete", args=[theirs.pk])).status_code == 404
    assert page.get(reverse("alert-events-page", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "active"
    page.post(reverse("alert-delete", args=[a.pk]))
    assert not Alert.objects.filter(pk=a.pk).exists()
    assert page.get(reverse("alert-pause", args=[theirs.pk])).status_code == 405  # POST only


def test_the_events_page_lists_every_fire(page, user, btc):
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=Decimal("91500000"))
    for k in range(3):
        AlertEvent.objects.create(
            alert=a,
            price=Decimal(91500000 + k),
            tick_time=datetime(2026, 6, 28, 9, k, tzinfo=UTC),
            idempotency_key=f"e{k}",
        )
    html = page.get(reverse("alert-events-page", args=[a.pk])).content.decode()
    assert all(f"2026-06-28 18:0{k}:00 KST" in html for k in range(3))


def test_preferences_form_saves_the_opt_ins(page, user):
    r = page.post(reverse("alerts-preferences"), {"order_filled": ["app", "telegram"], "bot_exited": ["app"]})
    assert r.status_code == 302
    assert dict(NotificationPreference.objects.filter(user=user).values_list("event", "channels")) == {
        "order_filled": ["app", "telegram"],
        "bot_exited": ["app"],
    }
    r = page.post(reverse("alerts-preferences"), {"order_filled": ["sms"]})
    assert r.status_code == 400
    assert NotificationPreference.objects.filter(user=user).count() == 2


# --- the channels page (/notifications/channels/) -------------------------------------------
def test_the_channels_page_needs_a_login():
    r = Client().get(reverse("notification-channels-page"))
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_the_channels_page_has_no_inline_code_and_passes_its_api_urls_in_data_attributes(page):
    from tests.security.test_csp import INLINE_SCRIPT

    response = page.get(reverse("notification-channels-page"))

    assert response.status_code == 200 and "unsafe-inline" not in response["Content-Security-Policy"]
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert "<style" not in html and " style=" not in html
    assert 'src="/static/alerts/channels.js"' in html and 'href="/static/alerts/channels.css"' in html
    # the script builds its URLs from these ({% url %}), none hard-coded in the JS
    assert f'data-list-url="{reverse("notification-channel-list")}"' in html
    assert f'data-telegram-url="{reverse("notification-channel-telegram")}"' in html
    assert f'data-detail-url="{reverse("notification-channel-detail", args=[0])}"' in html
    assert f'data-verify-url="{reverse("notification-channel-verify", args=[0])}"' in html
    assert "csrftoken" in response.cookies  # the script sends it back as X-CSRFToken


def test_the_channels_script_and_stylesheet_are_served_and_name_no_api_path(page):
    from django.contrib.staticfiles import finders

    script = open(finders.find("alerts/channels.js"), encoding="utf-8").read()
    assert finders.find("alerts/channels.css")
    assert "/api/v1/" not in script  # the URLs come from the page's data- attributes
    assert page.get("/static/alerts/channels.js").status_code == 200
