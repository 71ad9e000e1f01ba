"""/api/v1/alerts/ and /api/v1/notifications/ with the API client."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from alerts import services
from alerts.models import Alert, Notification
from markets.models import Ticker
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(db):
    u = UserFactory()
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(u).access_token}")
    return u, c


def fields(resp):
    return resp.json()["error"]["fields"]


def test_crud_and_isolation(auth_client, user, other, btc):
    r = auth_client.post(
        "/api/v1/alerts/",
        {
            "instrument": btc.pk,
            "condition": "crossing_up",
            "level": "100000000",
            "trigger": "every_time",
            "cooldown_seconds": 60,
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (
        body["symbol"] == "BTC/KRW"
        and body["level"] == "100000000"
        and body["state"] == "active"
        and body["expires_at"]
    )
    aid = body["id"]
    assert [a["id"] for a in auth_client.get("/api/v1/alerts/").json()["results"]] == [aid]
    r = auth_client.patch(f"/api/v1/alerts/{aid}/", {"state": "paused", "level": "95000000"}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "paused" and r.json()["level"] == "95000000"
    _, oc = other
    assert oc.get(f"/api/v1/alerts/{aid}/").status_code == 404
    assert oc.patch(f"/api/v1/alerts/{aid}/", {"state": "active"}, format="json").status_code == 404
    assert oc.delete(f"/api/v1/alerts/{aid}/").status_code == 404
    assert oc.get(f"/api/v1/alerts/{aid}/events/").status_code == 404
    assert oc.get("/api/v1/alerts/").json()["results"] == []
    assert Alert.objects.get(pk=aid).state == "paused"
    assert auth_client.delete(f"/api/v1/alerts/{aid}/").status_code == 204
    assert not Alert.objects.exists()


def test_anonymous_is_refused(api_client, btc):
    assert api_client.get("/api/v1/alerts/").status_code == 401
    assert (
        api_client.post(
            "/api/v1/alerts/", {"instrument": btc.pk, "condition": "crossing", "level": "1"}, format="json"
        ).status_code
        == 401
    )
    assert api_client.get("/api/v1/notifications/").status_code == 401
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"condition": "crossing"}, "level"),
        ({"condition": "nope", "level": "1"}, "condition"),
        ({"condition": "entering_channel", "level": "1"}, "level2"),
        ({"condition": "moving_up_pct", "value": "3"}, "window_minutes"),
        ({"condition": "moving_up_pct", "value": "3", "window_minutes": 0}, "window_minutes"),
        ({"condition": "crossing", "level": "abc"}, "level"),
        ({"condition": "crossing", "level": "1", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"condition": "crossing", "level": "1", "trigger": "sometimes"}, "trigger"),
        ({"condition": "crossing", "level": "1", "channels": ["pigeon"]}, "channels"),
    ],
)
def test_validation_400_names_the_field(auth_client, btc, payload, field):
    r = auth_client.post("/api/v1/alerts/", {"instrument": btc.pk, **payload}, format="json")
    assert r.status_code == 400 and field in fields(r), r.json()
    assert not Alert.objects.exists()


def test_unknown_instrument_is_400(auth_client, db):
    r = auth_client.post(
        "/api/v1/alerts/", {"instrument": 999999, "condition": "crossing", "level": "1"}, format="json"
    )
    assert r.status_code == 400 and "instrument" in fields(r)


def test_instrument_cannot_change(auth_client, user, btc):
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=Decimal("1"))
    r = auth_client.patch(f"/api/v1/alerts/{a.pk}/", {"instrument": btc.pk + 1}, format="json")
    assert r.status_code == 400 and "instrument" in fields(r)


def test_events_and_notifications_with_mark_read(auth_client, user, other, btc, btc_series):
    level = Decimal(btc_series[10][1])
    a = services.alert_create(user=user, instrument_id=btc.pk, condition="crossing", level=level, trigger="every_time")
    for t, price in btc_series:
        Ticker.objects.filter(instrument=btc).update(last_price=Decimal(price), time=t)
        services.alerts_on_tick(instrument_ids=[btc.pk])
    events = auth_client.get(f"/api/v1/alerts/{a.pk}/events/").json()["results"]
    n = len(events)
    assert n >= 2 and events[0]["tick_time"] > events[-1]["tick_time"]
    assert events[0]["previous_price"] is not None
    body = auth_client.get("/api/v1/notifications/").json()
    assert body["unread_count"] == n and len(body["results"]) == n and body["results"][0]["alert"] == a.pk
    _, oc = other
    assert oc.get("/api/v1/notifications/").json()["unread_count"] == 0
    mine = body["results"][0]["id"]
    assert (
        oc.post("/api/v1/notifications/mark-read/", {"ids": [mine]}, format="json").json()["marked"] == 0
    )  # not theirs
    r = auth_client.post("/api/v1/notifications/mark-read/", {"ids": [mine]}, format="json")
    assert r.json() == {"marked": 1, "unread_count": n - 1}
    assert auth_client.get("/api/v1/notifications/?unread=true").json()["unread_count"] == n - 1
    assert len(auth_client.get("/api/v1/notifications/?unread=true").json()["results"]) == n - 1
    assert auth_client.post("/api/v1/notifications/mark-read/", {}, format="json").json() == {
        "marked": n - 1,
        "unread_count": 0,
    }
    assert Notification.objects.filter(read_at__isnull=True).count() == 0
