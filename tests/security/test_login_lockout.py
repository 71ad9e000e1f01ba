"""Issue 12: every login form and the token endpoint lock a username + address out after
``AXES_FAILURE_LIMIT`` (5) failures, the right password included, until the cool-off passes;
the sign-up page is throttled like the register API."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def staff(db):
    user = UserFactory(is_staff=True, is_superuser=True)
    return user


def _form_login(client, path, username, password):
    data = {"username": username, "password": password}
    if path != "/api-auth/login/":
        data["next"] = "/"
    return client.post(path, data)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/api-auth/login/"])
def test_login_form_locks_out_after_five_failures_even_the_right_password(path, staff):
    client = Client()
    wrong = [_form_login(client, path, staff.username, f"wrong-{i}").status_code for i in range(4)]
    _form_login(client, path, staff.username, "wrong-5")
    sixth = _form_login(client, path, staff.username, "wrong-6")
    right = _form_login(client, path, staff.username, PASSWORD)

    assert wrong == [200, 200, 200, 200]  # the form again, with its error
    assert sixth.status_code == 429
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    attempt = AccessAttempt.objects.get(username=staff.username)
    assert attempt.ip_address == "127.0.0.1" and attempt.failures_since_start >= 5


def test_token_endpoint_locks_out_after_five_failures_even_the_right_password(api_client, user):
    statuses = [
        api_client.post(TOKEN, {"username": user.username, "password": f"bad-{i}"}, format="json").status_code
        for i in range(6)
    ]
    right = api_client.post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")

    assert statuses[:4] == [401, 401, 401, 401]
    assert statuses[5] == 429
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "throttled"
    assert "access" not in right.json()


def test_lockout_is_per_username_and_address(api_client, user):
    for i in range(6):
        api_client.post(TOKEN, {"username": user.username, "password": f"bad-{i}"}, format="json")

    other_address = api_client.post(
        TOKEN, {"username": user.username, "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.9"
    )
    other = UserFactory()
    other_user = api_client.post(TOKEN, {"username": other.username, "password": PASSWORD}, format="json")

    assert other_address.status_code == 200
    assert other_user.status_code == 200


def test_lockout_ends_after_the_cooloff(api_client, user, settings):
    for i in range(6):
        api_client.post(TOKEN, {"username": user.username, "password": f"bad-{i}"}, format="json")
    assert api_client.post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json").status_code == 429

    # the cool-off counts from the last failure: move it back beyond AXES_COOLOFF_TIME
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    after = api_client.post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")

    assert after.status_code == 200 and "access" in after.json()


def test_admin_lists_locked_accounts_and_addresses(api_client, user, staff):
    for i in range(6):
        api_client.post(TOKEN, {"username": user.username, "password": f"bad-{i}"}, format="json")
    admin = Client()
    admin.force_login(staff)

    page = admin.get("/admin/axes/accessattempt/")

    assert page.status_code == 200
    assert user.username in page.content.decode() and "127.0.0.1" in page.content.decode()


def test_signup_page_is_throttled_like_the_register_api(client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth_register": "2/min"})
    statuses = [
        Client()
        .post("/accounts/signup/", {"username": f"s{i}", "email": f"s{i}@example.com", "password": PASSWORD})
        .status_code
        for i in range(3)
    ]

    assert statuses == [302, 302, 429]
    assert get_user_model().objects.filter(username__startswith="s").count() == 2
