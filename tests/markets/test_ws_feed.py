"""``stream_tickers --source ws``: recorded exchange messages through a local fake server into
``Ticker`` rows and ``/ws/tickers/`` clients."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import ccxt
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import CommandError, call_command

from markets import selectors, services
from markets.feed import run_feed
from markets.models import Ticker
from markets.sources import get_source
from markets.sources.base import InstrumentInfo
from markets.sources.ccxt_source import CcxtSource
from markets.sources.ws_protocols import BithumbProtocol
from tests.markets.test_sources import shared_data
from tests.markets.ws_fake import FakeExchange, ThreadedFake, recorded
from tradesite.asgi import application

ORIGIN = [(b"origin", b"http://127.0.0.1:8000")]
CCXWS = "bithumb/library_fixtures/ws_messages_ccxws.jsonl"


def _seed():
    services.instrument_upsert_many(
        infos=[
            InstrumentInfo(exchange="bithumb", symbol=s, base=s.split("/")[0], quote="KRW", market="crypto")
            for s in ("BTC/KRW", "ETH/KRW")
        ]
    )


@pytest.fixture
def offline_rest(monkeypatch):
    """The ccxt REST side unreachable (as in the sandbox): load_markets fails fast."""

    def down(self):
        raise ccxt.NetworkError("bithumb GET https://api.bithumb.com/v1/market/all: unreachable")

    monkeypatch.setattr(CcxtSource, "instruments", down)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_recorded_ticker_reaches_the_board_and_its_subscribers(offline_rest, caplog):
    caplog.set_level(logging.WARNING, logger="markets.sources.ws_source")
    await database_sync_to_async(_seed)()
    server = await FakeExchange(recorded(shared_data(CCXWS)), subscribe_frames=2).start()
    try:
        communicator = WebsocketCommunicator(application, "/ws/tickers/", headers=ORIGIN)
        assert (await communicator.connect())[0]
        assert (await communicator.receive_json_from())["type"] == "snapshot"
        source = get_source("ws", exchange="bithumb", url=server.url, idle_timeout=None)
        assert await run_feed(source, symbols=["BTC/KRW", "ETH/KRW"], max_batches=1) == 1
        update = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
    finally:
        await server.stop()
    btc = next(t for t in update["tickers"] if t["symbol"] == "BTC/KRW")
    assert Decimal(btc["last_price"]) == Decimal("13714000")
    row = await database_sync_to_async(Ticker.objects.select_related("instrument").get)(instrument__symbol="BTC/KRW")
    assert row.source == "bithumb_ws" and row.traded_value_24h == Decimal("63252021221.2101")
    # the unreachable REST instruments: one line, no traceback
    lines = [r for r in caplog.records if r.name == "markets.sources.ws_source"]
    assert len(lines) == 1 and "instruments unavailable" in lines[0].getMessage() and lines[0].exc_info is None


@pytest.mark.django_db(transaction=True)
def test_command_subscribes_the_stored_instruments(offline_rest):
    _seed()
    fake = FakeExchange(recorded(shared_data(CCXWS)), subscribe_frames=2)
    with ThreadedFake(fake) as server:
        call_command("stream_tickers", "--source", "ws", "--exchange", "bithumb", "--url", server.url, "--batches", "1")
    sent = [json.loads(f) for f in server.received]
    assert sent[0] == {"type": "ticker", "symbols": ["BTC_KRW", "ETH_KRW"], "tickTypes": ["24H"]}
    assert sent[1] == {"type": "transaction", "symbols": ["BTC_KRW", "ETH_KRW"]}
    assert Ticker.objects.get(instrument__symbol="BTC/KRW").last_price == Decimal("13714000")


@pytest.mark.django_db
def test_command_needs_an_exchange_and_default_symbols_rank_by_traded_value():
    with pytest.raises(CommandError, match="--exchange"):
        call_command("stream_tickers", "--source", "ws")
    _seed()
    assert selectors.stream_symbols(exchange="bithumb") == ["BTC/KRW", "ETH/KRW"]  # no tickers: by symbol
    services.instrument_upsert_many(
        infos=[InstrumentInfo(exchange="bithumb", symbol="UNI/KRW", base="UNI", quote="KRW", market="crypto")]
    )
    uni = [json.loads(m) for m in recorded(shared_data("bithumb/library_fixtures/ws_messages_gocryptotrader.jsonl"))]
    services.ticker_upsert_many(snapshots=BithumbProtocol().parse(json.dumps(uni[1])).tickers, source="bithumb_ws")
    assert selectors.stream_symbols(exchange="bithumb") == ["UNI/KRW", "BTC/KRW", "ETH/KRW"]
    assert selectors.stream_symbols(exchange="bithumb", limit=1) == ["UNI/KRW"]
    assert selectors.stream_symbols(exchange="upbit") == []
