"""Issue 12: throttles and lockouts key on the socket's address; ``X-Forwarded-For`` counts only
through ``TRUSTED_PROXY_COUNT`` trusted proxies (core.clientip.client_ip)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from core.clientip import client_ip
from tests.accounts.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
REGISTER = "/api/v1/auth/register/"


def _request(remote="203.0.113.7", xff=None):
    meta = {"REMOTE_ADDR": remote}
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_the_socket_address_is_the_client(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request(xff="198.51.100.1")) == "203.0.113.7"


@pytest.mark.parametrize(
    ("count", "xff", "expected"),
    [
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the forged left entry is ignored
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
        (3, "198.51.100.1, 10.0.0.2", "198.51.100.1"),  # fewer entries than proxies: the leftmost
        (1, "not-an-address", "203.0.113.7"),
        (1, "", "203.0.113.7"),
        (1, None, "203.0.113.7"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_trusted_proxies_take_the_nth_forwarded_entry_from_the_right(settings, count, xff, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(_request(xff=xff)) == expected


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_escape_the_token_throttle(api_client):
    statuses = [
        api_client.post(
            TOKEN,
            {"username": f"nobody{i}", "password": "bad-password"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(30)
    ]

    assert statuses[:10] == [401] * 10  # auth_token: 10/min per address
    assert set(statuses[10:]) == {429}


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_escape_the_register_throttle(api_client):
    statuses = [
        api_client.post(
            REGISTER,
            {"username": f"forger{i}", "email": f"forger{i}@example.com", "password": PASSWORD},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(8)
    ]

    assert statuses == [201] * 5 + [429] * 3  # auth_register: 5/hour per address
    assert get_user_model().objects.filter(username__startswith="forger").count() == 5


@pytest.mark.django_db
def test_behind_one_trusted_proxy_each_client_has_its_own_budget(api_client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    statuses = [
        api_client.post(
            TOKEN,
            {"username": f"nobody{i}", "password": "bad-password"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(12)
    ]

    assert statuses == [401] * 12
