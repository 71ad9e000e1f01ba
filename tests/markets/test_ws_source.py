"""The WebSocket ticker/trade source on the recorded exchange messages, through a local fake server.

Recordings (``../shared/data``, see the SOURCE.md files): Bithumb ticker and transaction
(cryptofeed, ccxws, gocryptotrader, z3rosmith), Upbit SIMPLE trade and orderbook, Binance USD-M
trades (23,636, two windows), Bybit v5 and v2 trades, BitMEX trades.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from markets.sources.ws_protocols import BithumbProtocol, Trade
from markets.sources.ws_source import WsSource, backoff_delay
from tests.markets.test_sources import shared_data
from tests.markets.ws_fake import FakeExchange, recorded, wait_until

pytestmark = pytest.mark.asyncio

source_logger = "markets.sources.ws_source"


class FakeRest:
    """The REST side: counts fallback polls and answers with a recorded Bithumb ticker."""

    def __init__(self, snapshots=()):
        self.snapshots = list(snapshots)
        self.polls = 0

    def instruments(self):
        return []

    def tickers(self, symbols=None):
        self.polls += 1
        return list(self.snapshots)


def _messages(rel):
    return [json.loads(m) for m in recorded(shared_data(rel))]


async def _run(source: WsSource, symbols, collect: list):
    async for batch in source.stream_tickers(symbols):
        collect.append(batch)


async def _replay(exchange, rel, symbols, *, binary=False, idle_timeout=None, expect=None):
    frames = recorded(shared_data(rel))
    trades: list[Trade] = []
    source = WsSource(exchange, rest=FakeRest(), trade_handlers=[trades.extend], idle_timeout=idle_timeout)
    server = await FakeExchange(
        frames, subscribe_frames=len(source.protocol.subscriptions(symbols)), binary=binary
    ).start()
    source.url = server.url
    batches: list = []
    task = asyncio.create_task(_run(source, symbols, batches))
    try:
        await wait_until(lambda: source.stats["messages"] >= len(frames))
        await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
    return source, server, trades, batches


async def test_upbit_simple_trades_every_message():
    rel = "bithumb/upbit/ws_trade_orderbook_messages_SIMPLE.jsonl"
    raw = [m for m in _messages(rel) if m["ty"] == "trade"]
    source, server, trades, _ = await _replay("upbit", rel, ["LAMB/KRW", "WAVES/KRW"], binary=True)
    assert len(raw) == 304 and len(trades) == 304  # the 145 orderbook messages give nothing
    sent = json.loads(server.received[0])
    assert sent[1] == {"type": "ticker", "codes": ["KRW-LAMB", "KRW-WAVES"]} and sent[-1] == {"format": "SIMPLE"}
    for m, t in zip(raw, trades, strict=True):
        quote, base = m["cd"].split("-")
        assert t.symbol == f"{base}/{quote}"
        assert t.price == Decimal(str(m["tp"])) and t.amount == Decimal(str(m["tv"]))
        assert t.side == ("buy" if m["ab"] == "BID" else "sell")
        assert t.time == datetime.fromtimestamp(m["ttms"] / 1000, UTC)
        assert t.trade_id == str(m["sid"])
    assert source.stats["tickers"] == 0  # trades alone never make a ticker without 24 h figures


async def test_bithumb_ticker_and_transactions():
    rel = "bithumb/library_fixtures/ws_messages_ccxws.jsonl"
    source, server, trades, batches = await _replay("bithumb", rel, ["BTC/KRW", "ETH/KRW"])
    assert [json.loads(f)["type"] for f in server.received] == ["ticker", "transaction"]
    (ticker,) = [s for batch in batches for s in batch]
    assert ticker.symbol == "BTC/KRW" and ticker.last_price == Decimal("13714000")
    assert ticker.change == Decimal("77000") and ticker.change_rate == Decimal("0.0056")
    assert ticker.volume_24h == Decimal("4647.44384349") and ticker.traded_value_24h == Decimal("63252021221.2101")
    assert ticker.time == datetime(2020, 8, 13, 21, 38, 9, tzinfo=UTC)  # 06:38:09 KST
    assert [(t.symbol, t.side, t.price, t.amount) for t in trades] == [
        ("ETH/KRW", "sell", Decimal("485900"), Decimal("0.196")),  # buySellGb 1 = 매도체결
        ("ETH/KRW", "buy", Decimal("486400"), Decimal("5.4277")),
    ]
    assert trades[0].time == datetime(2020, 8, 13, 21, 28, 41, 621909, tzinfo=UTC)


async def test_bithumb_cryptofeed_transactions_and_acks():
    rel = "bithumb/ws_transaction_messages.jsonl"
    raw = [row for m in _messages(rel) if m.get("type") == "transaction" for row in m["content"]["list"]]
    source, _, trades, _ = await _replay("bithumb", rel, ["CON/KRW"])
    assert len(trades) == len(raw) > 0
    assert [t.amount for t in trades] == [Decimal(r["contQty"]) for r in raw]
    assert source.stats["errors"] == 0  # "0000" acks are acks


async def test_gocryptotrader_bithumb_ticker():
    _, _, trades, batches = await _replay(
        "bithumb", "bithumb/library_fixtures/ws_messages_gocryptotrader.jsonl", ["UNI/KRW"]
    )
    (ticker,) = [s for b in batches for s in b]
    assert (ticker.symbol, ticker.last_price, ticker.change) == ("UNI/KRW", Decimal("34010"), Decimal("610"))
    assert [(t.symbol, t.side) for t in trades] == [("DAI/KRW", "sell")]


async def test_binance_trades_sides_and_the_gap_between_windows(caplog):
    caplog.set_level(logging.INFO, logger="markets.sources.ws_source")
    rel = "trades/binance_usdm_BTCUSDT_trade_ws_messages.jsonl.gz"
    source, server, trades, _ = await _replay("binanceusdm", rel, ["BTC/USDT:USDT"])
    assert json.loads(server.received[0])["params"] == ["!ticker@arr", "btcusdt@trade"]
    assert len(trades) == 23_636
    # one insurance-fund fill (X INSURANCE_FUND, id 3535191080) has no taker
    assert [t.trade_id for t in trades if t.no_taker] == ["3535191080"]
    assert all(t.symbol == "BTC/USDT:USDT" for t in trades)
    window = datetime(2024, 1, 1, tzinfo=UTC)
    sums = {}
    for t in trades:
        key = (t.time > window, t.side)
        sums[key] = sums.get(key, Decimal(0)) + t.amount
    # SOURCE.md: taker-buy / taker-sell qty per window (by the m flag, the no-taker fill included)
    assert sums == {
        (False, "buy"): Decimal("590.074"),
        (False, "sell"): Decimal("599.012"),
        (True, "buy"): Decimal("444.608"),
        (True, "sell"): Decimal("677.851"),
    }
    # the ids are contiguous inside each window: exactly one gap, between them
    assert source.stats["gaps"] == 1
    assert source.stats["missing"] == 5182005737 - 3535198966 - 1
    gap_lines = [r for r in caplog.records if "sequence gap" in r.getMessage()]
    assert len(gap_lines) == 1


async def test_binance_duplicate_trades_are_stale_not_gaps():
    frames = recorded(shared_data("trades/binance_usdm_BTCUSDT_trade_ws_messages.jsonl.gz"))[:50]
    trades: list[Trade] = []
    source = WsSource("binanceusdm", rest=FakeRest(), trade_handlers=[trades.extend], idle_timeout=None)
    for frame in frames + frames[10:20]:  # a replayed stretch after a resubscribe
        source.handle(source.protocol.parse(frame))
    assert len(trades) == 50 and source.stats["stale"] == 10 and source.stats["gaps"] == 0


async def test_bybit_v5_v2_and_bitmex_trades():
    rel5 = "trades/bybit_v5_BTCUSDT_publicTrade_ws_messages.jsonl"
    raw5 = [d for m in _messages(rel5) for d in m["data"]]
    _, server, trades, _ = await _replay("bybit", rel5, ["BTC/USDT:USDT"])
    assert json.loads(server.received[0]) == {"op": "subscribe", "args": ["tickers.BTCUSDT", "publicTrade.BTCUSDT"]}
    assert len(trades) == len(raw5) == 67
    assert [(t.trade_id, t.side, t.amount, t.price) for t in trades] == [
        (d["i"], d["S"].lower(), Decimal(d["v"]), Decimal(d["p"])) for d in raw5
    ]
    assert trades[0].symbol == "BTC/USDT:USDT"

    _, _, trades2, _ = await _replay("bybit", "trades/bybit_v2_BTCUSD_ws_trade_messages_2021.jsonl", ["BTC/USD:BTC"])
    assert len(trades2) == 131 and trades2[0].symbol == "BTC/USD:BTC"
    assert trades2[0].time == datetime.fromtimestamp(1618677786.614, UTC)

    relm = "trades/bitmex_XBTUSD_ws_trade_messages.jsonl"
    rawm = [d for m in _messages(relm) for d in m.get("data", [])]
    _, server, tradesm, _ = await _replay("bitmex", relm, ["BTC/USD:BTC"])
    assert json.loads(server.received[0]) == {"op": "subscribe", "args": ["trade:XBTUSD"]}
    assert len(tradesm) == len(rawm) == 16
    assert [(t.side, t.amount) for t in tradesm] == [(d["side"].lower(), Decimal(str(d["size"]))) for d in rawm]


async def test_a_trade_moves_the_last_ticker():
    """The recorded Bithumb BTC_KRW ticker, then a recorded BTC_KRW transaction (z3rosmith)."""
    source = WsSource("bithumb", rest=FakeRest(), idle_timeout=None)
    source._queue = asyncio.Queue()
    ticker = json.loads(shared_data("bithumb/z3rosmith_mocks/WebSocketTickerJSONFile.json").read_text())
    trade = json.loads(shared_data("bithumb/z3rosmith_mocks/WebSocketTransactionJSONFile.json").read_text())
    source.handle(source.protocol.parse(json.dumps(ticker)))
    source.handle(source.protocol.parse(json.dumps(trade)))
    first, second = source._queue.get_nowait(), source._queue.get_nowait()
    reference = Decimal("52398000") - Decimal("110000")
    (moved,) = second
    assert moved.last_price == Decimal("52493000")
    assert moved.change == Decimal("52493000") - reference
    assert moved.change_rate == moved.change / reference
    assert moved.volume_24h == first[0].volume_24h  # the 24 h figures stay the last ticker's


async def test_drop_reconnects_and_resubscribes():
    rel = "trades/bybit_v5_BTCUSDT_publicTrade_ws_messages.jsonl"
    frames = recorded(shared_data(rel))
    trades: list[Trade] = []
    source = WsSource(
        "bybit", rest=FakeRest(), trade_handlers=[trades.extend], backoff_base=0.05, backoff_cap=0.2, idle_timeout=None
    )
    symbols = ["BTC/USDT:USDT"]
    server = await FakeExchange(frames, per_connection=10).start()
    source.url = server.url
    task = asyncio.create_task(_run(source, symbols, []))
    try:
        await wait_until(lambda: len(trades) >= 67)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
    connections = -(-len(frames) // 10)  # 27 messages, 10 a connection
    assert server.connections >= connections
    assert server.subscriptions == server.connections  # every connection subscribed again
    assert all(json.loads(f)["args"] == ["tickers.BTCUSDT", "publicTrade.BTCUSDT"] for f in server.received)
    assert len(trades) == 67


async def test_rest_fallback_while_down_and_not_after(caplog):
    caplog.set_level(logging.DEBUG, logger="markets.sources.ws_source")
    ccxws = [json.loads(line) for line in shared_data("bithumb/library_fixtures/ws_messages_ccxws.jsonl").open()]
    rest_snapshot = BithumbProtocol().parse(json.dumps(ccxws[0])).tickers
    rest = FakeRest(rest_snapshot)
    frames = recorded(shared_data("bithumb/library_fixtures/ws_messages_gocryptotrader.jsonl"))
    source = WsSource("bithumb", rest=rest, poll_interval=0.05, backoff_base=0.05, backoff_cap=0.2, idle_timeout=None)
    server = FakeExchange(frames, subscribe_frames=2)
    source.url = server.url  # nothing listens yet: the socket is down
    batches: list = []
    task = asyncio.create_task(_run(source, ["BTC/KRW", "UNI/KRW"], batches))
    try:
        await wait_until(lambda: rest.polls >= 3)
        assert source.state == "down"
        assert any(s.symbol == "BTC/KRW" and s.last_price == Decimal("13714000") for b in batches for s in b)
        await server.start()
        await wait_until(lambda: source.state == "live")
        await asyncio.sleep(0.1)
        polls_when_back = rest.polls
        await asyncio.sleep(0.5)  # ten poll intervals
        assert rest.polls == polls_when_back
        assert any(s.symbol == "UNI/KRW" for b in batches for s in b)  # from the socket
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop()
    assert server.subscriptions == 2
    lines = [r.getMessage() for r in caplog.records if r.name == source_logger and r.levelno >= logging.INFO]
    assert len(lines) == 2  # one line per state change: down, back
    assert lines[0].startswith("bithumb_ws: socket down (connect failed: ConnectionRefusedError")
    assert lines[1].startswith("bithumb_ws: socket back after") and "REST fallback off" in lines[1]
    assert all(r.exc_info is None for r in caplog.records)


async def test_backoff_is_capped_with_jitter_and_logs_once(caplog):
    caplog.set_level(logging.DEBUG, logger="markets.sources.ws_source")
    attempts = 0

    async def refuse(url):
        nonlocal attempts
        attempts += 1
        raise ConnectionRefusedError(111, "Connection refused")

    waits: list[float] = []

    async def no_sleep(seconds):
        waits.append(seconds)
        await asyncio.sleep(0)

    rest = FakeRest()
    source = WsSource(
        "binanceusdm", rest=rest, connect=refuse, sleep=no_sleep, backoff_base=1.0, backoff_cap=30.0, rand=lambda: 1.0
    )
    task = asyncio.create_task(_run(source, ["BTC/USDT:USDT"], []))
    await wait_until(lambda: attempts >= 15)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert source.delays[:7] == [1, 2, 4, 8, 16, 30, 30]
    assert max(source.delays) == 30
    assert [backoff_delay(n, base=1, cap=30, rand=lambda: 0.0) for n in (1, 3, 9)] == [0.5, 2, 15]
    warnings = [r for r in caplog.records if r.name == source_logger and r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "socket down" in warnings[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    assert rest.polls >= 1  # the fallback ran while the socket was down
