"""Parsing the recorded trade files: fields, units, and each exchange's taker side, on real
data only (no database)."""

import gzip
import json
from decimal import Decimal

import numpy as np
import pytest

from etl import formats
from tests.etl.conftest import (
    BINANCE_CSV,
    BINANCE_REST,
    BINANCE_WS,
    BITHUMB_WS,
    BITHUMB_WS_CCXWS,
    BITMEX_WS,
    BYBIT_INVERSE_REST,
    BYBIT_LINEAR_REST,
    BYBIT_V2_WS,
    BYBIT_V5_WS,
    CCXT_BITHUMB,
    binance_csv_trades,
    bitmex_ws_rows,
    recv_messages,
    shared_file,
)


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (BINANCE_CSV, "binance_csv"),
        (BINANCE_WS, "binance_ws"),
        (BINANCE_REST, "binance_rest"),
        (BYBIT_LINEAR_REST, "bybit_rest"),
        (BYBIT_INVERSE_REST, "bybit_rest"),
        (BYBIT_V2_WS, "bybit_ws"),
        (BYBIT_V5_WS, "bybit_ws"),
        (BITMEX_WS, "bitmex_ws"),
        (BITHUMB_WS, "bithumb_ws"),
    ],
)
def test_format_is_detected_from_the_content(path, fmt):
    assert formats.detect_format(path) == fmt


def test_binance_csv_maps_buyer_maker_true_to_a_taker_sell_and_flags_the_insurance_fund_fill():
    parsed = formats.read_trades(BINANCE_CSV)
    frame = parsed.frame.set_index("trade_id")

    # first row: 3535186032,28145.10,0.002,56.2902,1680652700452,true -> the buyer made, the taker sold
    first = frame.loc[3535186032]
    assert (first.ts_us, bool(first.is_buy), first.price, first.amount) == (
        1680652700452000,
        False,
        "28145.10",
        "0.002",
    )
    assert len(frame) == 23636
    assert parsed.skipped == {formats.NO_TAKER: 1}
    assert frame.loc[3535191080, "no_taker"]  # execType INSURANCE_FUND: no aggressor
    taker = frame[~frame["no_taker"]]
    expected = binance_csv_trades()
    assert sum(taker["is_buy"]) == sum(t.is_buy for t in expected)
    assert sum(Decimal(q) for q in taker.loc[taker["is_buy"], "amount"]) == sum(
        Decimal(t.amount) for t in expected if t.is_buy
    )


def test_binance_ws_messages_hold_the_same_trades_as_the_csv():
    csv_frame = formats.read_trades(BINANCE_CSV).frame
    ws_frame = formats.read_trades(BINANCE_WS).frame

    assert ws_frame["trade_id"].tolist() == csv_frame["trade_id"].tolist()
    assert (
        ws_frame[["ts_us", "is_buy", "price", "amount"]].to_numpy()
        == csv_frame[["ts_us", "is_buy", "price", "amount"]].to_numpy()
    ).all()


def test_binance_dump_layout_without_header_is_read(tmp_path):
    # data.binance.vision trades dumps: id,price,qty,quote_qty,time,is_buyer_maker without a header
    with gzip.open(BINANCE_CSV, "rt") as fh:
        rows = [line.split(",") for line in fh.read().splitlines()[1:51]]
    dump = tmp_path / "BTCUSDT-trades.csv"
    dump.write_text("".join(",".join(r[:6]) + "\n" for r in rows))

    frame = formats.read_trades(dump).frame

    assert frame["trade_id"].tolist() == [int(r[0]) for r in rows]
    assert frame["is_buy"].tolist() == [r[5] == "false" for r in rows]
    assert frame["price"].tolist() == [r[1] for r in rows]


def test_binance_rest_reply_side_and_amounts():
    rows = json.loads(BINANCE_REST.read_text())
    frame = formats.read_trades(BINANCE_REST).frame

    assert len(frame) == 1000
    assert frame["is_buy"].tolist() == [not r["isBuyerMaker"] for r in rows]
    assert frame["price"].iloc[0] == "11675.35000000" and frame["amount"].iloc[0] == "0.00522500"


def test_bybit_side_is_the_takers_side_in_rest_and_ws():
    linear = json.loads(BYBIT_LINEAR_REST.read_text())["result"]
    frame = formats.read_trades(BYBIT_LINEAR_REST, symbol="BTCUSDT").frame
    assert frame["is_buy"].tolist() == [r["side"] == "Buy" for r in linear]
    assert frame["ts_us"].tolist() == [r["trade_time_ms"] * 1000 for r in linear]
    assert frame["price"].iloc[0] == "29197.4" and frame["amount"].iloc[0] == "0.1"

    v5 = [row for msg in recv_messages(BYBIT_V5_WS) for row in msg["data"]]
    frame = formats.read_trades(BYBIT_V5_WS, symbol="BTCUSDT").frame
    assert frame["is_buy"].tolist() == [r["S"] == "Buy" for r in v5]
    assert frame["amount"].tolist() == [r["v"] for r in v5]

    v2 = [row for msg in recv_messages(BYBIT_V2_WS) for row in msg["data"]]
    frame = formats.read_trades(BYBIT_V2_WS, symbol="BTCUSD").frame
    assert len(frame) == 131
    assert frame["is_buy"].tolist() == [r["side"] == "Buy" for r in v2]
    assert frame["amount"].tolist() == [str(r["size"]) for r in v2]  # USD contracts


def test_bybit_inverse_rest_reads_iso_times_at_full_precision():
    rows = json.loads(BYBIT_INVERSE_REST.read_text())["result"]
    frame = formats.read_trades(BYBIT_INVERSE_REST, symbol="BTCUSD").frame

    # "2023-08-16T05:19:31.365Z"
    assert rows[0]["time"] == "2023-08-16T05:19:31.365Z"
    assert frame["ts_us"].iloc[0] == 1692163171365000
    assert frame["trade_id"].dtype == np.int64


def test_bitmex_side_is_the_takers_side_and_size_is_contracts():
    rows = bitmex_ws_rows()
    frame = formats.read_trades(BITMEX_WS, symbol="XBTUSD").frame

    assert len(frame) == 16
    assert frame["is_buy"].tolist() == [r["side"] == "Buy" for r in rows]
    assert frame["amount"].tolist() == [str(r["size"]) for r in rows]
    assert frame["ts_us"].iloc[0] == 1626993359790000  # 2021-07-22T22:35:59.790Z


def test_other_symbols_are_left_out_and_counted():
    parsed = formats.read_trades(BITHUMB_WS, symbol="GOM2_KRW")

    assert len(parsed) == 6  # GOM2_KRW trades
    assert parsed.skipped["other symbol"] == 1  # the CON_KRW trade
    assert parsed.skipped["not a trade message"] == 2  # the connect and filter acknowledgments


def test_bithumb_ws_buysellgb_2_is_a_taker_buy_as_documented_and_as_the_prices_show():
    """Bithumb documents buySellGb as 1 = 매도체결 (sell), 2 = 매수체결 (buy); ccxt and ccxws map it
    the other way. The recorded prices decide: a taker buy walks up the asks, a taker sell
    hits bids below the asks."""
    rows = [r for msg in recv_messages(BITHUMB_WS) if msg.get("type") == "transaction" for r in msg["content"]["list"]]
    gom2 = [r for r in rows if r["symbol"] == "GOM2_KRW"]
    burst = [r for r in gom2 if r["contDtm"].startswith("2021-06-02 08:43:42.2")]  # one order, 2 ms

    assert [r["buySellGb"] for r in burst] == ["2", "2", "2", "2"]
    prices = [Decimal(r["contPrice"]) for r in burst]
    assert prices == sorted(prices) and prices[0] < prices[-1]  # 7.523 -> 7.525: lifting the asks

    ccxws = [
        r
        for line in BITHUMB_WS_CCXWS.read_text().splitlines()
        if '"transaction"' in line
        for r in json.loads(line)["content"]["list"]
    ]
    sell, buy = ccxws  # ETH_KRW, one second apart
    assert (sell["buySellGb"], buy["buySellGb"]) == ("1", "2")
    assert Decimal(sell["contPrice"]) < Decimal(buy["contPrice"])  # the sell at the bid, the buy at the ask

    frame = formats.read_trades(BITHUMB_WS, symbol="GOM2_KRW").frame
    assert frame["is_buy"].tolist() == [r["buySellGb"] == "2" for r in gom2]
    # contDtm "2021-06-02 08:43:41.416901" is Korean time: 23:43:41.416901 UTC the day before
    assert frame["ts_us"].iloc[0] == 1622591021416901


def test_bithumb_ws_trades_get_stable_content_ids():
    first = formats.read_trades(BITHUMB_WS, symbol="GOM2_KRW").frame["trade_id"].tolist()
    again = formats.read_trades(BITHUMB_WS, symbol="GOM2_KRW").frame["trade_id"].tolist()

    assert first == again and len(set(first)) == len(first)
    assert first[0] == "1622591021416901:s:7.524:626#0"


def test_bithumb_rest_type_bid_is_a_taker_buy_from_ccxts_recording():
    reply = json.loads(CCXT_BITHUMB.read_text())["fetchTrades"]["httpResponse"]

    frame = formats.bithumb_rest_frame(reply["data"])

    # {"transaction_date": "2024-08-08 17:14:33", "type": "ask", "units_traded": "0.0006", "price": "80649000"}
    assert frame["is_buy"].tolist() == [False]
    assert frame["ts_us"].tolist() == [1723104873000000]  # 08:14:33 UTC
    assert (frame["price"].iloc[0], frame["amount"].iloc[0]) == ("80649000", "0.0006")


def test_bithumb_rest_bids_walk_up_the_book_in_the_recorded_history():
    path = shared_file("bithumb/z3rosmith_mocks/TransactionJSONFile.json")
    rows = json.loads(path.read_text())["data"]

    frame = formats.read_trades(path).frame

    assert frame["is_buy"].tolist() == [r["type"] == "bid" for r in rows]
    last_second = [r for r in rows if r["transaction_date"] == "2022-02-25 13:16:24"]
    assert {r["type"] for r in last_second} == {"bid"}
    prices = [int(r["price"]) for r in last_second]
    assert prices == sorted(prices) and prices[0] < prices[-1]  # 47,204,000 -> 47,206,000 within the second
    (ask,) = [r for r in rows if r["type"] == "ask"]
    assert int(ask["price"]) < min(
        int(r["price"]) for r in rows if r["type"] == "bid" and r["transaction_date"] < "2022-02-25 13:16:10"
    )


def test_unknown_side_value_is_a_format_error():
    rows = bitmex_ws_rows()
    rows[0] = {**rows[0], "side": ""}

    with pytest.raises(formats.FormatError, match="unknown taker side"):
        formats.bitmex_frame(rows)


def test_a_file_in_no_known_format_is_refused(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")

    with pytest.raises(formats.FormatError):
        formats.read_trades(junk)
