import json
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from markets import services
from markets.feed import run_feed
from tests.markets.conftest import replay_source
from tradesite.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = [(b"origin", b"http://127.0.0.1:8000")]


async def _connect():
    communicator = WebsocketCommunicator(application, "/ws/tickers/", headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _seed(source):
    await database_sync_to_async(services.instrument_upsert_many)(infos=source.instruments())


async def test_connect_sends_the_top20_snapshot_ranked_by_traded_value():
    source = replay_source(loop=False)
    await _seed(source)
    await run_feed(source, max_batches=1)  # the feed stores the first recorded point

    communicator = await _connect()
    message = await communicator.receive_json_from()

    assert message["type"] == "snapshot"
    tickers = message["tickers"]
    assert len(tickers) == 20
    values = [Decimal(t["traded_value_24h"]) for t in tickers]
    assert values == sorted(values, reverse=True)
    btc = next(t for t in tickers if t["symbol"] == "BTC/KRW")
    assert Decimal(btc["last_price"]) == Decimal("91291000")  # the recording's first open
    await communicator.disconnect()


async def test_board_updates_follow_the_replayed_prices():
    source = replay_source(loop=False)
    await _seed(source)
    communicator = await _connect()
    assert (await communicator.receive_json_from())["type"] == "snapshot"
    # the file's first BTC row: KRW-BTC,2026-06-28 17:00:00,91291000.0,91346000.0,91148000.0,91212000.0
    # a down candle is walked open -> high -> low -> close
    path = [Decimal("91291000"), Decimal("91346000"), Decimal("91148000")]

    await run_feed(source, max_batches=3)
    updates = [await communicator.receive_json_from() for _ in range(3)]

    assert [u["type"] for u in updates] == ["tickers"] * 3
    btc_prices = [Decimal(next(t for t in u["tickers"] if t["symbol"] == "BTC/KRW")["last_price"]) for u in updates]
    assert btc_prices == path
    await communicator.disconnect()


async def test_subscribe_sends_the_symbols_ticker_and_its_updates():
    source = replay_source(loop=False)
    await _seed(source)
    await run_feed(source, max_batches=1)
    communicator = await _connect()
    await communicator.receive_json_from()

    await communicator.send_json_to({"action": "subscribe", "symbols": ["upbit:ETH/KRW"]})
    subscribed = await communicator.receive_json_from()
    current = await communicator.receive_json_from()
    await run_feed(source, max_batches=1)
    messages = [await communicator.receive_json_from() for _ in range(2)]

    assert subscribed == {"type": "subscribed", "symbols": ["upbit:ETH/KRW"]}
    assert current["type"] == "ticker" and current["ticker"]["symbol"] == "ETH/KRW"
    assert sorted(m["type"] for m in messages) == ["ticker", "tickers"]
    assert next(m for m in messages if m["type"] == "ticker")["ticker"]["symbol"] == "ETH/KRW"
    await communicator.disconnect()


async def test_unsubscribe_stops_the_symbols_updates():
    source = replay_source(loop=False)
    await _seed(source)
    await run_feed(source, max_batches=1)
    communicator = await _connect()
    await communicator.receive_json_from()
    await communicator.send_json_to({"action": "subscribe", "symbols": ["ETH/KRW"]})
    await communicator.receive_json_from()
    await communicator.receive_json_from()

    await communicator.send_json_to({"action": "unsubscribe", "symbols": ["ETH/KRW"]})
    unsubscribed = await communicator.receive_json_from()
    await run_feed(source, max_batches=1)

    assert unsubscribed == {"type": "unsubscribed", "symbols": ["ETH/KRW"]}
    assert (await communicator.receive_json_from())["type"] == "tickers"
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


@pytest.mark.parametrize(
    "payload, fragment",
    [
        ("not json", "JSON"),
        ('{"action": "buy"}', "action"),
        ('{"action": "subscribe", "symbols": "BTC/KRW"}', "symbols"),
        ('{"action": "subscribe", "symbols": ["upbit:NOPE/KRW"]}', "unknown instrument(s): upbit:NOPE/KRW"),
        ('{"action": "subscribe", "symbols": ["' + "x" * 61 + '"]}', "symbols"),
    ],
)
async def test_bad_client_messages_get_an_error_and_keep_the_connection(payload, fragment):
    source = replay_source(loop=False)
    await _seed(source)
    communicator = await _connect()
    await communicator.receive_json_from()

    await communicator.send_to(text_data=payload)
    error = await communicator.receive_json_from()
    await communicator.send_json_to({"action": "subscribe", "symbols": ["upbit:BTC/KRW"]})

    assert error["type"] == "error" and fragment in error["message"]
    assert (await communicator.receive_json_from())["type"] == "subscribed"
    await communicator.disconnect()


async def test_connection_from_a_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/tickers/", headers=[(b"origin", b"http://evil.example")])

    connected, _ = await communicator.connect()

    assert not connected


async def test_the_board_is_serialized_once_and_every_client_gets_the_same_text():
    source = replay_source(loop=False)
    await _seed(source)
    first, second = await _connect(), await _connect()
    for communicator in (first, second):
        assert (await communicator.receive_json_from())["type"] == "snapshot"

    await run_feed(source, max_batches=1)
    texts = [await communicator.receive_from() for communicator in (first, second)]

    assert texts[0] == texts[1]  # one json.dumps per batch, the same text to every client
    board = json.loads(texts[0])
    assert board["type"] == "tickers" and len(board["tickers"]) == 20
    assert Decimal(next(t for t in board["tickers"] if t["symbol"] == "BTC/KRW")["last_price"]) == Decimal("91291000")
    for communicator in (first, second):
        await communicator.disconnect()
