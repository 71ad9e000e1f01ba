import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.test import APIClient

from tests.accounts.factories import PASSWORD

pytestmark = pytest.mark.django_db

User = get_user_model()
REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"


def _register(client, **overrides):
    data = {"username": "minji", "email": "minji@example.com", "password": PASSWORD, **overrides}
    return client.post(REGISTER, data, format="json")


def _tokens(client, username, password=PASSWORD):
    response = client.post(TOKEN, {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_register_creates_user_with_hashed_password(api_client):
    response = _register(api_client)

    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "minji" and "password" not in body
    user = User.objects.get(username="minji")
    assert user.check_password(PASSWORD) and user.password != PASSWORD


@pytest.mark.parametrize(
    "password, expected",
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("8675309241", "entirely numeric"),
        ("minji@example", "too similar"),
    ],
)
def test_register_with_weak_password_is_rejected_naming_the_field_and_creates_nothing(api_client, password, expected):
    response = _register(api_client, password=password)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(expected in message for message in error["fields"]["password"])
    assert not User.objects.exists()


def test_register_with_taken_username_or_email_is_rejected(api_client, user):
    by_name = _register(api_client, username=user.username.upper(), email="other@example.com")
    by_email = _register(api_client, username="someone", email=user.email)

    assert by_name.status_code == 400 and "username" in by_name.json()["error"]["fields"]
    assert by_email.status_code == 400 and "email" in by_email.json()["error"]["fields"]
    assert User.objects.count() == 1


def test_register_with_missing_fields_names_each_field(api_client):
    response = api_client.post(REGISTER, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"username", "email", "password"}


def test_token_pair_gives_access_to_me(api_client, user):
    tokens = _tokens(api_client, user.username)

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = api_client.get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_token_with_wrong_password_is_401_in_the_error_shape(api_client, user):
    response = api_client.post(TOKEN, {"username": user.username, "password": "wrong-password-1"}, format="json")

    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_me_without_token_is_401(api_client):
    response = api_client.get(ME)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_refresh_rotates_and_the_old_refresh_token_is_blacklisted(api_client, user):
    tokens = _tokens(api_client, user.username)

    first = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    reuse = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert first.status_code == 200
    assert first.json()["refresh"] != tokens["refresh"]
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "token_not_valid"


def test_logout_blacklists_the_refresh_token(api_client, user):
    tokens = _tokens(api_client, user.username)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    logout = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    refresh_after = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    logout_again = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

    assert logout.status_code == 205
    assert refresh_after.status_code == 401
    assert logout_again.status_code == 400
    assert logout_again.json()["error"]["fields"] == {"refresh": ["Token is blacklisted"]}


def test_logout_requires_authentication(api_client, user):
    tokens = _tokens(api_client, user.username)

    response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == 401
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 200


@override_settings(
    REST_FRAMEWORK={
        **__import__("django.conf").conf.settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth_token": "3/min", "auth_register": "2/min"},
    }
)
def test_token_and_register_endpoints_are_throttled(api_client, user, monkeypatch):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)
    statuses = [
        api_client.post(TOKEN, {"username": user.username, "password": "bad-password-1"}, format="json").status_code
        for _ in range(4)
    ]
    registers = [_register(api_client, username=f"u{i}", email=f"u{i}@example.com").status_code for i in range(3)]

    assert statuses == [401, 401, 401, 429]
    assert registers == [201, 201, 429]
    assert User.objects.filter(username__startswith="u").count() == 2


def test_signup_page_creates_the_user_logs_in_and_opens_the_account(client):
    response = client.post(
        "/accounts/signup/", {"username": "jisoo", "email": "jisoo@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302 and response["Location"] == "/portfolio/"
    user = User.objects.get(username="jisoo")
    assert client.get("/api/v1/auth/me/").json()["username"] == "jisoo"  # session authentication
    assert user.check_password(PASSWORD)


def test_signup_page_with_a_weak_password_shows_the_error_and_creates_nothing(client):
    response = client.post(
        "/accounts/signup/", {"username": "jisoo", "email": "jisoo@example.com", "password": "12345678"}
    )

    assert response.status_code == 200
    assert b"entirely numeric" in response.content
    assert not User.objects.filter(username="jisoo").exists()


def test_portfolio_page_requires_login(client, user):
    assert client.get("/portfolio/")["Location"].startswith("/accounts/login/")
    client.force_login(user)
    page = client.get("/portfolio/")
    assert page.status_code == 200 and b"/ws/account/" in page.content


def test_login_page_links_to_the_signup_page_in_korean_and_english(client, db):
    korean = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '계정이 없으신가요? <a href="/accounts/signup/">회원가입</a>' in korean
    assert 'No account? <a href="/accounts/signup/">Sign up</a>' in english
    assert "Register through the API" not in korean + english
    assert client.get("/accounts/signup/").status_code == 200
