"""Issue 12: refresh-token rotation is atomic, a token used after its rotation revokes its whole
family (every outstanding token of that login), and logout blacklists only the caller's own
token and closes the caller's ``/ws/account/`` sockets."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from tests.accounts.factories import PASSWORD, UserFactory
from tests.helpers import run_at_once
from tradesite.asgi import application

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"


def _login(user) -> dict:
    response = APIClient().post(TOKEN, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _refresh(token: str):
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


@pytest.mark.django_db
def test_a_refresh_token_used_after_its_rotation_revokes_its_family_only(user):
    first = _login(user)
    other_login = _login(user)
    second = _refresh(first["refresh"]).json()
    third = _refresh(second["refresh"]).json()

    replay = _refresh(first["refresh"])  # the stolen, rotated token comes back
    current = _refresh(third["refresh"])  # the family's newest token is dead too
    other = _refresh(other_login["refresh"])  # another login of the same user is untouched

    assert replay.status_code == 401 and replay.json()["error"]["code"] == "token_not_valid"
    assert current.status_code == 401
    assert other.status_code == 200


@pytest.mark.django_db
def test_a_refresh_without_reuse_keeps_working_along_the_chain(user):
    token = _login(user)["refresh"]
    for _ in range(4):
        response = _refresh(token)
        assert response.status_code == 200
        token = response.json()["refresh"]
    assert BlacklistedToken.objects.filter(token__user=user).count() == 4
    assert OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count() == 1


@pytest.mark.django_db
def test_an_invalid_refresh_token_is_401_and_revokes_nothing(user):
    login = _login(user)

    response = _refresh(login["refresh"][:-4] + "abcd")

    assert response.status_code == 401
    assert _refresh(login["refresh"]).status_code == 200


@pytest.mark.django_db
def test_logout_with_another_users_token_is_refused_and_blacklists_nothing(user):
    mallory = UserFactory()
    victim = _login(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_login(mallory)['access']}")

    response = client.post(LOGOUT, {"refresh": victim["refresh"]}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "token_not_yours"
    assert "refresh" in response.json()["error"]["fields"]
    assert not BlacklistedToken.objects.filter(token__user=user).exists()
    assert _refresh(victim["refresh"]).status_code == 200


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_logout_closes_the_users_account_sockets_and_not_others():
    user, other = await database_sync_to_async(UserFactory)(), await database_sync_to_async(UserFactory)()
    mine_tokens = await database_sync_to_async(_login)(user)
    other_tokens = await database_sync_to_async(_login)(other)
    origin = [(b"origin", b"http://127.0.0.1:8000")]
    mine = WebsocketCommunicator(application, f"/ws/account/?token={mine_tokens['access']}", headers=origin)
    theirs = WebsocketCommunicator(application, f"/ws/account/?token={other_tokens['access']}", headers=origin)
    assert (await mine.connect())[0] and (await theirs.connect())[0]

    def logout():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine_tokens['access']}")
        return client.post(LOGOUT, {"refresh": mine_tokens["refresh"]}, format="json").status_code

    assert await database_sync_to_async(logout)() == 205
    closed = await mine.receive_output(timeout=5)

    assert closed == {"type": "websocket.close", "code": 4401}
    assert await theirs.receive_nothing(timeout=0.3)
    await theirs.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency needs PostgreSQL (DATABASE_URL)")
def test_parallel_refreshes_of_one_token_exactly_one_succeeds_on_postgresql():
    user = UserFactory()
    login = _login(user)

    results = run_at_once(*[lambda: _refresh(login["refresh"])] * 8)

    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [401] * 7, results
    (winner,) = [r.json() for r in results if r.status_code == 200]
    # the losers were replays of a rotated token: the winner's successor is revoked with its family
    assert _refresh(winner["refresh"]).status_code == 401
    assert OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count() == 0
