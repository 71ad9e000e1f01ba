"""Issue 12: a binary, non-JSON, deeply nested frame, a lone surrogate or a NUL is answered with
an error frame on /ws/tickers/ and /ws/account/, and the socket stays open (it closed with 1011)."""

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import RefreshToken

from tests.accounts.factories import UserFactory
from tradesite.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
ORIGIN = [(b"origin", b"http://127.0.0.1:8000")]

BAD_TEXT = [
    "not json",
    " ",
    "[" * 50_000 + "]" * 50_000,
    '{"action": "subscribe", "symbols": ["upbit:\\ud800"]}',
    '{"action": "subscribe", "symbols": ["upbit:BTC\\u0000/KRW"]}',
    '{"action": "subscribe", "symbols": ["upbit:BTC\x00/KRW"]}',
    '{"\\ud800": 1}',
]


@pytest.fixture
def token(db):
    return str(RefreshToken.for_user(UserFactory()).access_token)


async def _open(path):
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _assert_error_and_open(communicator, *, text=None, binary=None):
    if binary is not None:
        await communicator.send_to(bytes_data=binary)
    else:
        await communicator.send_to(text_data=text)
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "error" and frame["message"]


async def test_tickers_answer_bad_frames_and_stay_open():
    ws = await _open("/ws/tickers/")
    assert (await ws.receive_json_from(timeout=5))["type"] == "snapshot"
    for text in BAD_TEXT:
        await _assert_error_and_open(ws, text=text)
    await _assert_error_and_open(ws, binary=b"\x00\xff binary")
    # still open and still served: an ordinary (unknown) subscription is answered
    await ws.send_json_to({"action": "subscribe", "symbols": ["upbit:NOPE/KRW"]})
    assert "NOPE" in (await ws.receive_json_from(timeout=5))["message"]
    await ws.disconnect()


async def test_account_stream_answers_bad_frames_and_stays_open(token):
    ws = await _open(f"/ws/account/?token={token}")
    for text in BAD_TEXT:
        await _assert_error_and_open(ws, text=text)
    await _assert_error_and_open(ws, binary=b"\x01\x02")
    await ws.send_json_to({"hello": "world"})
    assert (await ws.receive_json_from(timeout=5)) == {"type": "error", "message": "This stream is read-only."}
    await ws.disconnect()
