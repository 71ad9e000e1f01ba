import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import RefreshToken

from tests.accounts.factories import UserFactory
from tradesite.asgi import application
from trading import services

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
ORIGIN = [(b"origin", b"http://127.0.0.1:8000")]


async def _connect(token: str | None):
    path = "/ws/account/" + (f"?token={token}" if token else "")
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_account_stream_refuses_missing_and_bad_tokens():
    _, connected, code = await _connect(None)
    _, connected_bad, code_bad = await _connect("not-a-jwt")

    assert (connected, code) == (False, 4401)
    assert (connected_bad, code_bad) == (False, 4401)


@pytest.fixture
def users(db):
    """Two users with their access tokens (made here: issuing a token writes to the database)."""
    return [(u, str(RefreshToken.for_user(u).access_token)) for u in (UserFactory(), UserFactory())]


async def test_account_stream_pushes_the_users_own_order_and_fill_events(btc, users):
    (user, token), (_, other_token) = users
    mine, connected, _ = await _connect(token)
    theirs, _, _ = await _connect(other_token)
    assert connected

    order, _ = await database_sync_to_async(services.order_place)(
        user=user, instrument_id=btc.pk, side="buy", type="market", quantity="0.01"
    )
    events = [await mine.receive_json_from(timeout=5) for _ in range(2)]

    assert {"type": "fill", "order_id": order.pk, "price": "91337000", "quantity": "0.01", "fee": "457"} in events
    assert {"type": "order", "order_id": order.pk, "status": "filled"} in events
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()
