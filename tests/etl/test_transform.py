"""The vectorized transform against an independent per-trade computation, on the recorded
trades (no database)."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from etl import decimals, formats, transform
from etl.pairs import get_pair
from tests.etl.conftest import (
    BINANCE_CSV,
    BINANCE_REST,
    BITMEX_WS,
    BYBIT_INVERSE_REST,
    BYBIT_LINEAR_REST,
    BYBIT_V2_WS,
    RefTrade,
    binance_csv_trades,
    bitmex_trades,
    bitmex_ws_rows,
    minute_of,
    recv_messages,
    reference_minutes,
)

BINANCE = get_pair("binance", "BTCUSDT")
BITMEX = get_pair("bitmex", "XBTUSD")
BYBIT_INVERSE = get_pair("bybit", "BTCUSD")
BYBIT_LINEAR = get_pair("bybit", "BTCUSDT")


def as_decimals(totals: transform.MinuteTotals) -> dict:
    frame = totals.frame
    return {
        minute_of(int(m) * 60_000_000): {
            "buy_volume": decimals.to_decimal(row.buy_base, totals.base_scale),
            "sell_volume": decimals.to_decimal(row.sell_base, totals.base_scale),
            "buy_value": decimals.to_decimal(row.buy_quote, totals.quote_scale),
            "sell_value": decimals.to_decimal(row.sell_quote, totals.quote_scale),
            "count": int(row.trades),
        }
        for m, row in zip(frame.index, frame.itertuples(), strict=False)
    }


def run(path, pair, **kwargs):
    return transform.transform(formats.read_trades(path, symbol=pair.symbol).frame, pair, **kwargs)


def test_every_binance_minute_equals_the_per_trade_reference():
    expected = reference_minutes(binance_csv_trades())

    batch, dropped, spans, totals = run(BINANCE_CSV, BINANCE)

    assert dropped == 0 and len(batch) == 23635
    assert as_decimals(totals) == expected
    # SOURCE.md's figures of the first window: taker buy 590.074 / sell 599.012 BTC, the latter
    # including the 0.001 BTC insurance-fund fill, which has no taker and is left out here
    first_window = [v for k, v in expected.items() if k.year == 2023]
    assert sum(v["buy_volume"] for v in first_window) == Decimal("590.074")
    assert sum(v["sell_volume"] for v in first_window) == Decimal("599.012") - Decimal("0.001")


def test_the_insurance_fund_fill_is_not_taker_volume_and_does_not_break_the_span():
    batch, _, spans, totals = run(BINANCE_CSV, BINANCE)

    assert 3535191080 not in set(batch.frame["trade_id"])
    # two spans: one per recorded window, joined across the flagged id
    assert [(s.first_id, s.last_id) for s in spans] == [("3535186032", "3535198966"), ("5182005737", "5182016437")]


def test_first_and_last_minute_of_each_span_are_partial_and_the_rest_complete():
    _, _, spans, totals = run(BINANCE_CSV, BINANCE)

    complete = totals.frame["complete"]
    minutes = [minute_of(int(m) * 60_000_000).strftime("%Y-%m-%d %H:%M") for m in complete.index[~complete.to_numpy()]]
    assert minutes == ["2023-04-04 23:58", "2023-04-05 00:06", "2024-07-18 23:57", "2024-07-19 00:05"]
    assert int(complete.sum()) == 14
    assert set(totals.partial_trades["minute"]) == set(complete.index[~complete.to_numpy()])


def test_duplicate_trades_count_once_however_often_they_arrive():
    raw = formats.read_trades(BINANCE_CSV).frame
    doubled = pd.concat([raw.iloc[5000:9000], raw, raw.iloc[:3000]], ignore_index=True)

    batch, dropped, _, totals = transform.transform(doubled, BINANCE)

    assert dropped == 7000 - 1  # the repeated insurance-fund fill is not a trade to drop
    assert as_decimals(totals) == reference_minutes(binance_csv_trades())


def test_a_trade_id_seen_with_different_content_is_refused():
    raw = formats.read_trades(BYBIT_LINEAR_REST, symbol="BTCUSDT").frame
    clash = raw.iloc[[0]].assign(amount="9.999")

    with pytest.raises(transform.DuplicateTradeConflict):
        transform.transform(pd.concat([raw, clash], ignore_index=True), BYBIT_LINEAR)


def test_unsorted_input_gives_the_same_minutes():
    raw = formats.read_trades(BINANCE_REST).frame
    shuffled = raw.sample(frac=1, random_state=7).reset_index(drop=True)

    assert as_decimals(transform.transform(shuffled, BINANCE)[3]) == as_decimals(transform.transform(raw, BINANCE)[3])


def test_bitmex_inverse_contracts_convert_to_btc_per_trade_rounded_at_1e_12():
    rows = bitmex_ws_rows()
    expected = reference_minutes(bitmex_trades(rows), inverse=True)

    batch, _, _, totals = run(BITMEX_WS, BITMEX)

    assert as_decimals(totals) == expected
    assert totals.base_scale == 12 and totals.quote_scale == 0  # USD value exact: contracts x 1 USD
    # BitMEX's own homeNotional (XBT, 8 places) agrees within its rounding
    ours = sum(decimals.to_decimal(int(u), 12) for u in batch.frame["base"])
    theirs = sum(Decimal(r["homeNotional"]) for r in rows)
    assert abs(ours - theirs) < Decimal("0.00001")
    assert sum(int(q) for q in batch.frame["quote"]) == sum(r["size"] for r in rows)


def test_bybit_inverse_ws_and_rest_convert_like_bitmex():
    v2 = [row for msg in recv_messages(BYBIT_V2_WS) for row in msg["data"]]
    trades = [
        RefTrade(r["trade_id"], r["trade_time_ms"] * 1000, r["side"] == "Buy", str(r["price"]), str(r["size"]))
        for r in v2
    ]
    assert as_decimals(run(BYBIT_V2_WS, BYBIT_INVERSE)[3]) == reference_minutes(trades, inverse=True)

    _, _, _, totals = run(BYBIT_INVERSE_REST, BYBIT_INVERSE)
    assert totals.frame["trades"].sum() == 500
    assert totals.base_scale == 12


def test_bybit_linear_values_are_price_times_quantity_exactly():
    raw = formats.read_trades(BYBIT_LINEAR_REST, symbol="BTCUSDT").frame
    trades = [RefTrade(*r) for r in raw[["trade_id", "ts_us", "is_buy", "price", "amount"]].itertuples(index=False)]

    assert as_decimals(transform.transform(raw, BYBIT_LINEAR)[3]) == reference_minutes(trades)


def test_a_minute_without_trades_inside_a_span_is_a_complete_zero_row():
    # every recorded minute has trades; leaving one minute's trades out of the batch stands in
    # for a quiet minute (the batch then vouches for the whole stretch, the quiet minute included)
    raw = formats.read_trades(BYBIT_INVERSE_REST, symbol="BTCUSD").frame
    minutes = raw["ts_us"] // 60_000_000
    quiet = int(minutes.iloc[len(raw) // 2])

    _, _, _, totals = transform.transform(raw[minutes != quiet], BYBIT_INVERSE)

    zero = totals.frame.loc[quiet]
    assert (zero["trades"], zero["buy_base"], zero["sell_quote"], bool(zero["complete"])) == (0, 0, 0, True)


def test_a_jump_in_sequential_ids_splits_the_span():
    raw = formats.read_trades(BINANCE_REST).frame
    gapped = raw.drop(index=500)

    spans = transform.transform(gapped, BINANCE)[2]

    assert [(s.first_id, s.last_id) for s in spans] == [("399088278", "399088777"), ("399088779", "399089277")]


def test_the_first_instant_of_a_batch_is_not_vouched_for():
    raw = formats.read_trades(BINANCE_REST).frame

    (span,) = transform.transform(raw, BINANCE)[2]

    assert span.start_us == int(raw["ts_us"].min()) + 1 and span.end_us == int(raw["ts_us"].max())


def test_parse_units_is_exact_and_picks_the_smallest_scale():
    units, scale = decimals.parse_units(np.array(["0.1", "0.2", "28145.10", "7", ".5"], dtype=object))

    assert scale == 1  # "28145.10" needs only one place
    assert units.tolist() == [1, 2, 281451, 70, 5]
    assert decimals.to_decimal(int(units[:2].sum()), scale) == Decimal("0.3")  # 0.1 + 0.2, no float


@pytest.mark.parametrize("text", ["1e-05", "-1", "1.2.3", "", "12a", "1234567890123.1234567"])
def test_parse_units_refuses_what_it_cannot_hold_exactly(text):
    with pytest.raises(ValueError):
        decimals.parse_units(np.array(["1", text], dtype=object))


def test_sums_that_would_overflow_int64_are_summed_exactly_in_python_ints():
    big = np.array([9 * 10**17] * 12, dtype=np.int64)  # 1.08e19 > 2**63

    sums = transform.segment_sums(big, np.array([0, 2]))

    assert sums.tolist() == [18 * 10**17, 90 * 10**17]


def test_inverse_division_rounds_half_to_even():
    # 1 / 8 at 2 places = 0.125 -> 0.12; 3 / 8 = 0.375 -> 0.38
    assert decimals.divide_round_half_even(100, np.array([1, 3, 5]), np.array([8, 8, 8])).tolist() == [12, 38, 62]
