"""Live runs from the cursor, replaying real recorded exchange replies through ``responses``.

Replies that were never recorded are built from recorded trades of the same exchange, as each
test says: BitMEX ``/api/v1/trade`` pages from the BitMEX WebSocket trades (same fields), Bybit
v5 ``/v5/market/recent-trade`` from the v5 WebSocket trades, Binance USD-M ``/fapi/v1/trades``
and ``historicalTrades`` pages from the recorded ``/api/v3/trades`` reply (the same schema).
"""

import json
from datetime import UTC, datetime

import pytest
import requests
import responses
from responses import matchers

from etl import services
from etl.extract import BinanceUsdmFeed, BithumbFeed, BitmexFeed, BybitFeed, ExtractNetworkError
from etl.models import CoverageSpan, IngestRun, PairState, StagedTrade, TakerVolume
from etl.pairs import get_pair
from markets.sources.base import SourceError
from tests.etl.conftest import (
    BINANCE_REST,
    BYBIT_LINEAR_REST,
    CCXT_BITHUMB,
    RefTrade,
    bitmex_trades,
    bitmex_ws_rows,
    bybit_v5_ws_rows,
    reference_minutes,
    shared_file,
)

pytestmark = pytest.mark.django_db

BINANCE = get_pair("binance", "BTCUSDT")
BYBIT = get_pair("bybit", "BTCUSDT")
BITMEX = get_pair("bitmex", "XBTUSD")
BITHUMB = get_pair("bithumb", "BTC_KRW")
FAPI = "https://fapi.binance.com/fapi/v1"
BYBIT_API = "https://api.bybit.com"
BITMEX_TRADE = "https://www.bitmex.com/api/v1/trade"
BITHUMB_HISTORY = "https://api.bithumb.com/public/transaction_history/BTC_KRW"


class FakeSleep:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


def rows_of(pair):
    return {r.minute: r for r in TakerVolume.objects.filter(exchange=pair.exchange, symbol=pair.symbol)}


def assert_rows_match(pair, expected, *, stored_values=True):
    rows = rows_of(pair)
    assert rows.keys() == expected.keys()
    for minute, ref in expected.items():
        assert rows[minute].trade_count == ref["count"]
        assert float(rows[minute].taker_buy_volume) == pytest.approx(float(ref["buy_volume"]), abs=1e-12)
        assert float(rows[minute].taker_sell_value) == pytest.approx(float(ref["sell_value"]), rel=1e-14)


def state_of(pair):
    return PairState.objects.get(exchange=pair.exchange, symbol=pair.symbol)


def binance_recorded():
    return json.loads(BINANCE_REST.read_text())


def binance_ref(rows):
    return reference_minutes(
        [RefTrade(str(r["id"]), r["time"] * 1000, not r["isBuyerMaker"], r["price"], r["qty"]) for r in rows]
    )


# -- Binance ------------------------------------------------------------------------------------


def test_binance_recent_trades_polled_twice_with_overlap_count_each_trade_once():
    recorded = binance_recorded()
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        # the recorded reply, served as two successive polls of the latest trades
        rs.add(
            responses.GET,
            f"{FAPI}/trades",
            json=recorded[:600],
            match=[matchers.query_param_matcher({"symbol": "BTCUSDT", "limit": "1000"})],
        )
        rs.add(responses.GET, f"{FAPI}/trades", json=recorded[400:])
        first = services.taker_volume_live_run(pair=BINANCE, feed=BinanceUsdmFeed(sleep=sleep))
        second = services.taker_volume_live_run(pair=BINANCE, feed=BinanceUsdmFeed(sleep=sleep))

    assert (first.status, first.trades_read, second.trades_read) == ("ok", 600, 600)
    assert_rows_match(BINANCE, binance_ref(recorded))
    state = state_of(BINANCE)
    assert state.last_trade_id == str(recorded[-1]["id"])
    assert state.last_trade_time == datetime.fromtimestamp(recorded[-1]["time"] / 1000, UTC)
    (span,) = CoverageSpan.objects.all()  # the second poll reached back to the cursor: one span
    assert (span.first_trade_id, span.last_trade_id) == (str(recorded[0]["id"]), str(recorded[-1]["id"]))


def test_binance_historical_trades_page_by_from_id_without_losing_a_trade():
    recorded = binance_recorded()
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{FAPI}/trades", json=recorded[:300])
        services.taker_volume_live_run(pair=BINANCE, feed=BinanceUsdmFeed(sleep=FakeSleep()))
        cursor = int(state_of(BINANCE).last_trade_id)
        rs.add(
            responses.GET,
            f"{FAPI}/historicalTrades",
            json=recorded[300:800],
            match=[
                matchers.query_param_matcher({"symbol": "BTCUSDT", "limit": "500", "fromId": str(cursor + 1)}),
                matchers.header_matcher({"X-MBX-APIKEY": "public-data-key"}),
            ],
        )
        rs.add(
            responses.GET,
            f"{FAPI}/historicalTrades",
            json=recorded[800:],
            match=[
                matchers.query_param_matcher(
                    {"symbol": "BTCUSDT", "limit": "500", "fromId": str(recorded[799]["id"] + 1)}
                )
            ],
        )
        run = services.taker_volume_live_run(
            pair=BINANCE, feed=BinanceUsdmFeed(api_key="public-data-key", rate_limit=False, sleep=FakeSleep())
        )

    assert (run.trades_read, run.requests) == (700, 2)
    assert_rows_match(BINANCE, binance_ref(recorded))
    assert sum(r.trade_count for r in TakerVolume.objects.all()) == 1000
    assert CoverageSpan.objects.count() == 1


def test_a_poll_that_misses_trades_records_a_gap_not_a_complete_minute():
    recorded = binance_recorded()
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{FAPI}/trades", json=recorded[:300])
        rs.add(responses.GET, f"{FAPI}/trades", json=recorded[700:])  # 400 trades never seen
        for _ in range(2):
            services.taker_volume_live_run(pair=BINANCE, feed=BinanceUsdmFeed(sleep=FakeSleep()))

    assert CoverageSpan.objects.count() == 2
    missing_minutes = {datetime.fromtimestamp(r["time"] // 60000 * 60, UTC) for r in recorded[300:700]}
    assert not any(rows_of(BINANCE)[m].is_complete for m in missing_minutes if m in rows_of(BINANCE))
    assert sum(r.trade_count for r in TakerVolume.objects.all()) == 600


# -- Bybit ------------------------------------------------------------------------------------


def bybit_legacy():
    return json.loads(BYBIT_LINEAR_REST.read_text())


def test_bybit_recent_trading_records_replayed_twice_change_nothing_the_second_time():
    reply = bybit_legacy()
    trades = [
        RefTrade(r["id"], r["trade_time_ms"] * 1000, r["side"] == "Buy", str(r["price"]), str(r["qty"]))
        for r in reply["result"]
    ]
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BYBIT_API}/public/linear/recent-trading-records",
            json=reply,
            match=[matchers.query_param_matcher({"symbol": "BTCUSDT", "limit": "1000"})],
        )
        services.taker_volume_live_run(pair=BYBIT, feed=BybitFeed(endpoint="legacy", sleep=FakeSleep()))
        before = sorted(
            TakerVolume.objects.values_list(
                "minute", "taker_buy_volume", "taker_sell_value", "trade_count", "is_complete"
            )
        )
        services.taker_volume_live_run(pair=BYBIT, feed=BybitFeed(endpoint="legacy", sleep=FakeSleep()))

    assert (
        sorted(
            TakerVolume.objects.values_list(
                "minute", "taker_buy_volume", "taker_sell_value", "trade_count", "is_complete"
            )
        )
        == before
    )
    assert_rows_match(BYBIT, reference_minutes(trades))
    assert state_of(BYBIT).last_trade_id == reply["result"][0]["id"]  # the newest comes first in the reply


def test_bybit_polls_that_overlap_join_into_one_span():
    reply = bybit_legacy()
    older = {**reply, "result": reply["result"][200:]}  # the reply as it stood 200 trades earlier
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BYBIT_API}/public/linear/recent-trading-records", json=older)
        rs.add(responses.GET, f"{BYBIT_API}/public/linear/recent-trading-records", json=reply)
        for _ in range(2):
            services.taker_volume_live_run(pair=BYBIT, feed=BybitFeed(endpoint="legacy", sleep=FakeSleep()))
    polled = sorted(
        TakerVolume.objects.values_list("minute", "taker_buy_volume", "taker_sell_volume", "trade_count", "is_complete")
    )
    assert CoverageSpan.objects.count() == 1
    TakerVolume.objects.all().delete(), CoverageSpan.objects.all().delete(), StagedTrade.objects.all().delete()
    PairState.objects.all().delete()

    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BYBIT_API}/public/linear/recent-trading-records", json=reply)
        services.taker_volume_live_run(pair=BYBIT, feed=BybitFeed(endpoint="legacy", sleep=FakeSleep()))

    assert (
        sorted(
            TakerVolume.objects.values_list(
                "minute", "taker_buy_volume", "taker_sell_volume", "trade_count", "is_complete"
            )
        )
        == polled
    )


def test_bybit_v5_recent_trade_reply_is_read():
    rows = bybit_v5_ws_rows()
    # no recorded /v5/market/recent-trade reply exists: built from the recorded v5 WebSocket trades
    reply = {
        "retCode": 0,
        "retMsg": "OK",
        "result": {
            "category": "linear",
            "list": [
                {
                    "execId": r["i"],
                    "symbol": r["s"],
                    "price": r["p"],
                    "size": r["v"],
                    "side": r["S"],
                    "time": str(r["T"]),
                    "isBlockTrade": r["BT"],
                    "isRPITrade": r["RPI"],
                }
                for r in reversed(rows)
            ],
        },
        "retExtInfo": {},
        "time": rows[-1]["T"],
    }
    trades = [RefTrade(r["i"], r["T"] * 1000, r["S"] == "Buy", r["p"], r["v"]) for r in rows]
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET,
            f"{BYBIT_API}/v5/market/recent-trade",
            json=reply,
            match=[matchers.query_param_matcher({"category": "linear", "symbol": "BTCUSDT", "limit": "1000"})],
        )
        run = services.taker_volume_live_run(pair=BYBIT, feed=BybitFeed(sleep=FakeSleep()))

    assert run.trades_read == 67
    assert_rows_match(BYBIT, reference_minutes(trades))


# -- BitMEX -----------------------------------------------------------------------------------


def bitmex_pages(rows):
    """A ``responses`` callback answering /api/v1/trade from the recorded WebSocket trades."""

    def answer(request):
        query = request.params
        count, start = int(query["count"]), int(query.get("start", 0))
        if query.get("reverse") == "true":
            page = list(reversed(rows))[:count]
        else:
            page = [r for r in rows if r["timestamp"] >= query["startTime"]][start : start + count]
        return 200, {"x-ratelimit-remaining": "29", "x-ratelimit-reset": "0"}, json.dumps(page)

    return answer


def test_bitmex_pages_by_start_from_the_cursor_without_losing_a_trade():
    rows = bitmex_ws_rows()
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.GET, BITMEX_TRADE, callback=bitmex_pages(rows[:6]))
        first = services.taker_volume_live_run(pair=BITMEX, feed=BitmexFeed(page_size=5, sleep=sleep))
        rs.remove(responses.GET, BITMEX_TRADE)  # then the later trades arrive
        rs.add_callback(responses.GET, BITMEX_TRADE, callback=bitmex_pages(rows))
        second = services.taker_volume_live_run(
            pair=BITMEX, feed=BitmexFeed(page_size=5, min_interval=2.0, sleep=sleep)
        )
        pages = [c.request.params for c in rs.calls[1:]]

    assert first.trades_read == 5  # no cursor yet: the latest page only
    cursor_time = rows[5]["timestamp"]
    since_cursor = [r for r in rows if r["timestamp"] >= cursor_time]
    assert {p["startTime"] for p in pages} == {cursor_time}
    assert [p["start"] for p in pages] == [str(n) for n in range(0, len(since_cursor) + 1, 5)]
    assert second.trades_read == len(since_cursor)  # the cursor's instant again (de-duplicated), then the rest
    assert_rows_match(BITMEX, reference_minutes(bitmex_trades(rows[1:]), inverse=True))
    assert sum(r.trade_count for r in TakerVolume.objects.all()) == 15
    assert all(0 < s <= 2.0 for s in sleep.calls)  # spaced by the minimum interval


def test_bitmex_since_fetches_everything_from_that_time():
    rows = bitmex_ws_rows()
    with responses.RequestsMock() as rs:
        rs.add_callback(responses.GET, BITMEX_TRADE, callback=bitmex_pages(rows))
        run = services.taker_volume_live_run(
            pair=BITMEX,
            since=datetime(2021, 7, 22, 22, 35, tzinfo=UTC),
            feed=BitmexFeed(page_size=1000, sleep=FakeSleep()),
        )

    assert run.trades_read == 16
    assert_rows_match(BITMEX, reference_minutes(bitmex_trades(rows), inverse=True))


def test_bitmex_network_errors_are_retried_with_backoff_and_retry_after():
    rows = bitmex_ws_rows()
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, BITMEX_TRADE, body=requests.ConnectionError("connection reset"))
        rs.add(responses.GET, BITMEX_TRADE, status=503, body="overloaded")
        rs.add(responses.GET, BITMEX_TRADE, status=429, headers={"Retry-After": "7"}, body="rate limited")
        rs.add(responses.GET, BITMEX_TRADE, json=rows)
        run = services.taker_volume_live_run(
            pair=BITMEX, feed=BitmexFeed(min_interval=0, backoff_base=1.0, sleep=sleep)
        )

    assert run.status == "ok" and run.trades_read == 16 and run.requests == 4
    assert sleep.calls == [1.0, 2.0, 7.0]


def test_bitmex_network_trouble_past_the_retries_writes_nothing():
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, BITMEX_TRADE, body=requests.ConnectionError("connection refused"))
        with pytest.raises(ExtractNetworkError):
            services.taker_volume_live_run(pair=BITMEX, feed=BitmexFeed(min_interval=0, max_retries=2, sleep=sleep))

    assert sleep.calls == [1.0, 2.0]
    assert TakerVolume.objects.count() == 0 and CoverageSpan.objects.count() == 0
    run = IngestRun.objects.get()
    assert run.status == "failed" and "connection refused" in run.error
    assert state_of(BITMEX).last_trade_time is None and "connection refused" in state_of(BITMEX).last_error


def test_bitmex_client_error_is_not_retried():
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET, BITMEX_TRADE, status=400, json={"error": {"message": "Invalid symbol", "name": "HTTPError"}}
        )
        with pytest.raises(SourceError, match="HTTP 400"):
            services.taker_volume_live_run(pair=BITMEX, feed=BitmexFeed(min_interval=0, sleep=sleep))
        assert len(rs.calls) == 1

    assert sleep.calls == [] and TakerVolume.objects.count() == 0


# -- Bithumb -----------------------------------------------------------------------------------


def test_bithumb_counts_only_whole_seconds_of_a_transaction_history_reply():
    path = shared_file("bithumb/z3rosmith_mocks/TransactionJSONFile.json")
    reply = json.loads(path.read_text())
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, BITHUMB_HISTORY, json=reply, match=[matchers.query_param_matcher({"count": "100"})])
        run = services.taker_volume_live_run(pair=BITHUMB, feed=BithumbFeed(sleep=FakeSleep()))
        before = sorted(TakerVolume.objects.values_list("minute", "taker_buy_volume", "trade_count", "is_complete"))
        again = services.taker_volume_live_run(pair=BITHUMB, feed=BithumbFeed(sleep=FakeSleep()))

    # 13:15:49 (maybe cut by count) and 13:16:24 (maybe still filling) are left for later polls
    kept = [r for r in reply["data"] if "13:15:49" < r["transaction_date"][-8:] < "13:16:24"]
    assert run.trades_read == len(kept) == 12
    assert again.trades_read == 0  # the same reply again: nothing after the cursor
    assert sorted(TakerVolume.objects.values_list("minute", "taker_buy_volume", "trade_count", "is_complete")) == before
    row = TakerVolume.objects.get(minute=datetime(2022, 2, 25, 4, 16, tzinfo=UTC))
    in_minute = [r for r in kept if r["transaction_date"] >= "2022-02-25 13:16:00"]
    assert row.trade_count == len(in_minute) and row.quote == "KRW"
    assert float(row.taker_buy_value) == pytest.approx(
        sum(float(r["price"]) * float(r["units_traded"]) for r in in_minute if r["type"] == "bid")
    )
    assert float(row.taker_sell_volume) == pytest.approx(0.0005)  # the one "ask"
    assert StagedTrade.objects.count() == 12  # both minutes partial, their trades staged once


def test_bithumb_one_row_reply_vouches_for_nothing():
    reply = json.loads(CCXT_BITHUMB.read_text())["fetchTrades"]["httpResponse"]
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, BITHUMB_HISTORY, json=reply)
        run = services.taker_volume_live_run(pair=BITHUMB, feed=BithumbFeed(sleep=FakeSleep()))

    assert run.status == "ok" and run.trades_read == 0 and TakerVolume.objects.count() == 0


def test_bithumb_error_reply_stops_the_run_without_retry():
    # Bithumb's error reply as quoted in ccxt's bithumb.py ("status" 5100)
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, BITHUMB_HISTORY, json={"status": "5100", "message": "Bad Request.(Auth Data)"})
        with pytest.raises(SourceError) as err:
            services.taker_volume_live_run(pair=BITHUMB, feed=BithumbFeed(sleep=sleep))
        assert len(rs.calls) == 1

    assert sleep.calls == [] and err.value.exchange == "bithumb"
    assert IngestRun.objects.get().status == "failed" and TakerVolume.objects.count() == 0


def test_ccxt_network_error_is_retried_then_succeeds():
    reply = bybit_legacy()
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(
            responses.GET, f"{BYBIT_API}/public/linear/recent-trading-records", body=requests.ConnectionError("reset")
        )
        rs.add(responses.GET, f"{BYBIT_API}/public/linear/recent-trading-records", json=reply)
        run = services.taker_volume_live_run(
            pair=BYBIT, feed=BybitFeed(endpoint="legacy", backoff_base=0.5, sleep=sleep)
        )

    assert run.status == "ok" and run.trades_read == 500
    assert sleep.calls == [0.5]


def test_binance_since_without_an_api_key_is_refused():
    with pytest.raises(SourceError, match="BINANCE_API_KEY"):
        services.taker_volume_live_run(pair=BINANCE, since=datetime(2024, 1, 1, tzinfo=UTC), feed=BinanceUsdmFeed())

    assert TakerVolume.objects.count() == 0


def test_a_rate_limited_reply_is_waited_out_and_retried():
    reply = bybit_legacy()
    sleep = FakeSleep()
    with responses.RequestsMock() as rs:
        rs.add(responses.GET, f"{BYBIT_API}/public/linear/recent-trading-records", status=429, body="")
        rs.add(responses.GET, f"{BYBIT_API}/public/linear/recent-trading-records", json=reply)
        run = services.taker_volume_live_run(
            pair=BYBIT, feed=BybitFeed(endpoint="legacy", backoff_base=2.0, sleep=sleep)
        )

    assert run.status == "ok" and run.requests == 2
    assert sleep.calls == [2.0]
