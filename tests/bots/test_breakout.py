"""The breakout math (``bots.breakout``) on real daily candles, no database.

Hand-checked figures come from the shipped Upbit KRW-BTC daily rows (day = 09:00 KST):

    date        open         high         low          close
    2025-09-23  160,731,000  161,350,000  158,668,000  159,679,000
    2025-09-24  159,680,000  161,200,000  159,001,000  160,700,000
    2025-09-25  160,700,000  161,037,000  158,000,000  158,200,000
    2025-09-26  158,219,000  159,307,000  157,100,000  158,128,000

Costs as the paper account charges on Upbit: fee 5 bps and slippage 5 bps per leg.
"""

from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from bots import breakout
from tests.bots.breakout_reference import SHARED_COIN_FILES, krx_sessions, load_days, plain_backtest

DATA = Path(settings.MARKETS["DATA_DIR"])
SHARED = Path(settings.MARKETS["SHARED_DATA_DIR"])
UPBIT = breakout.Costs(fee_bps=5, slippage_bps=5)
needs_shared = pytest.mark.skipif(
    not (SHARED / "coins_daily").is_dir(),
    reason=f"{SHARED}/coins_daily is absent (the recorded data set beside the repo)",
)


@cache
def shipped_coins() -> dict:
    series = load_days(
        DATA / "coins_daily" / "upbit_KRW_daily_10coins_2024-09-26_2025-09-27.csv.gz", "upbit_csv", interval="1d"
    )
    longer = load_days(
        DATA / "coins_daily" / "upbit_KRW_daily_DOGE_ETH_SOL_XRP_2023-07-25_2025-09-28.csv.gz",
        "upbit_csv",
        interval="1d",
    )
    return {**series, **{(exchange, f"{symbol} from 2023"): days for (exchange, symbol), days in longer.items()}}


@cache
def shipped_krx() -> dict:
    return load_days(DATA / "krx_daily" / "krx_daily_ohlcv_top50.csv.gz", "krx_daily")


@cache
def shared_coins() -> dict:
    series = {}
    for name, fmt, options in SHARED_COIN_FILES:
        if "21coins" in name:
            continue  # 50,846 rows: the bench runs them; the loop would take the tests too long
        for key, days in load_days(SHARED / "coins_daily" / name, fmt, **options).items():
            series[(name, *key)] = days
    return series


def arrays(days):
    dates = np.array([d.date for d in days], dtype="datetime64[D]")
    return (dates, *(np.array([getattr(d, f) for d in days]) for f in ("open", "high", "low", "close")))


def row_of(days, day: date) -> int:
    return next(i for i, d in enumerate(days) if d.date == day)


def btc():
    return shipped_coins()[("upbit", "BTC/KRW")]


# --- the formulas on hand-checked rows ------------------------------------------------------


def test_target_entry_and_exit_follow_the_rule_on_real_btc_rows():
    days = btc()
    _, o, h, lo, c = arrays(days)
    sig = breakout.signals(o, h, lo, c, k=0.5, costs=UPBIT)
    d24, d26 = row_of(days, date(2025, 9, 24)), row_of(days, date(2025, 9, 26))

    # 159,680,000 + 0.5 x (161,350,000 - 158,668,000) = 161,021,000 <= high 161,200,000
    assert sig.target[d24] == 161_021_000 and sig.entered[d24]
    assert sig.entry[d24] == 161_021_000 and sig.exit[d24] == 160_700_000  # next open
    # 160,700,000 x 0.9995 x 0.9995 / (161,021,000 x 1.0005 x 1.0005)
    assert sig.factor[d24] == pytest.approx(0.99601245278013799, rel=1e-15)
    # 158,219,000 + 0.5 x (161,037,000 - 158,000,000) = 159,737,500 > high 159,307,000
    assert sig.target[d26] == 159_737_500 and not sig.entered[d26] and sig.factor[d26] == 1.0


def test_moving_average_filter_keeps_out_an_open_below_the_average():
    days = btc()
    _, o, h, lo, c = arrays(days)
    d24 = row_of(days, date(2025, 9, 24))

    sig = breakout.signals(o, h, lo, c, k=0.5, ma_window=5, costs=UPBIT)

    # closes 09-19 .. 09-23: (162,138,000 + 162,236,000 + 161,412,000 + 160,730,000 + 159,679,000) / 5
    assert sig.ma[d24] == 161_239_000
    assert not sig.allowed[d24] and not sig.entered[d24] and sig.factor[d24] == 1.0  # the high still reached the target


def test_best_k_is_the_k_with_the_best_window_and_ties_go_to_the_smaller_k():
    days = btc()
    _, o, h, lo, c = arrays(days)
    sig = breakout.signals(o, h, lo, c, k=None, lookback=1, costs=UPBIT)

    # 2025-09-24 (the window of 09-25): every k up to 0.55 entered and sold at 160,700,000, so the
    # lowest entry wins: k 0.1 bought at 159,948,200 for a net factor of 1.00269
    assert sig.k[row_of(days, date(2025, 9, 25))] == 0.1
    # 2025-07-23: open 162,321,000, high 162,848,000, range before 4,240,000. k 0.1 entered at
    # 162,745,000 and lost at the next open 162,000,000; from k 0.15 (target 162,957,000) no k
    # traded: factor 1.0 for all of them, and the tie goes to the smallest
    assert sig.k[row_of(days, date(2025, 7, 24))] == 0.15


def test_best_k_needs_a_whole_window():
    _, o, h, lo, c = arrays(btc())

    sig = breakout.signals(o, h, lo, c, k=None, lookback=20, ma_window=5, costs=UPBIT)

    # row 0 has no previous day and the average needs 5 days: the first day with a factor is
    # row 5, so the first complete 20-day window is rows 5..24, for day 25
    assert np.isnan(sig.k[:25]).all() and not np.isnan(sig.k[25])
    assert not sig.entered[:25].any()


# --- vectorized == the plain loop, to the cent -------------------------------------------------

CONFIGS = [
    pytest.param({"k": None, "lookback": 20, "ma": 5}, id="best-K-MA5"),
    pytest.param({"k": None, "lookback": 10, "ma": 0}, id="best-K-no-filter"),
    pytest.param({"k": 0.5, "lookback": 20, "ma": 0}, id="k0.5-no-filter"),
]


def assert_same_as_the_loop(days, *, k, lookback, ma, fee_bps, slippage_bps, tax_bps=0.0, first=0, sessions=None):
    dates, o, h, lo, c = arrays(days)
    follows = breakout.follows_by_sessions(dates, np.array(sessions, dtype="datetime64[D]")) if sessions else None
    result = breakout.backtest(
        dates,
        o,
        h,
        lo,
        c,
        first=first,
        k=k,
        lookback=lookback,
        follows=follows,
        ma_window=ma,
        costs=breakout.Costs(fee_bps, slippage_bps, tax_bps),
        initial=10_000_000,
    )
    loop = plain_backtest(
        days,
        k=k,
        lookback=lookback,
        ma=ma,
        fee_bps=fee_bps,
        slippage_bps=slippage_bps,
        tax_bps=tax_bps,
        first=first,
        initial=10_000_000,
        sessions=sessions,
    )
    sig = result.signals
    loop_k = np.array([np.nan if x is None else x for x in loop["k"]])
    assert np.array_equal(sig.k, loop_k, equal_nan=True), "best K per day differs"
    trades = [(days[i].date, sig.entry[i], days[i + 1].date, sig.exit[i], sig.k[i]) for i in result.trade_rows]
    assert trades == [t[:5] for t in loop["trades"]]
    assert np.abs(result.equity - np.array(loop["equity"])).max() < 0.005  # KRW, to the cent
    assert result.number_of_trades == len(loop["trades"])
    return result


@pytest.mark.parametrize("config", CONFIGS)
def test_vectorized_backtest_equals_a_plain_daily_loop_on_the_shipped_upbit_coins(config):
    traded = 0
    for days in shipped_coins().values():
        traded += assert_same_as_the_loop(days, fee_bps=5, slippage_bps=5, **config).number_of_trades
    assert traded > 500  # 14 real series, hundreds of real trades compared


@needs_shared
@pytest.mark.parametrize("config", CONFIGS[::2])
def test_vectorized_backtest_equals_a_plain_daily_loop_on_shared_krw_history(config):
    """Bithumb BTC/KRW 2013-2022 (with its two outage gaps), the investing.com-style KRW
    series (Bithumb BTC/ETH/XRP 2017-2024), Binance BTC/USDT 2019 and the Upbit files."""
    traded = 0
    for (_name, exchange, _symbol), days in shared_coins().items():
        fee = 25 if exchange == "bithumb" else 10 if exchange == "binance" else 5
        traded += assert_same_as_the_loop(days, fee_bps=fee, slippage_bps=5, **config).number_of_trades
    assert traded > 2000


def test_vectorized_backtest_equals_the_loop_on_krx_sessions_with_halts_and_the_sell_tax():
    sessions = krx_sessions()
    # ten of the fifty (the loop is slow; the bench runs all): the halted 012450 among them
    for code in ("005930", "000660", "012450", "005380", "035420", "035720", "051910", "068270", "105560", "207940"):
        days = shipped_krx()[("krx", code)]
        assert_same_as_the_loop(
            days, k=None, lookback=20, ma=5, fee_bps=1.5, slippage_bps=5, tax_bps=20, sessions=sessions
        )


def test_a_krx_trading_halt_is_a_gap_but_a_weekend_is_not():
    days = shipped_krx()[
        ("krx", "012450")
    ]  # Hanwha Aerospace: halted 2024-08-29 .. 2024-09-26 (rows skipped on import)
    dates, o, h, lo, c = arrays(days)
    follows = breakout.follows_by_sessions(dates, np.array(krx_sessions(), dtype="datetime64[D]"))
    before, after = row_of(days, date(2024, 8, 28)), row_of(days, date(2024, 9, 27))
    monday = row_of(days, date(2024, 8, 26))

    sig = breakout.signals(o, h, lo, c, k=0.5, follows=follows)

    assert after == before + 1 and not follows[after]
    assert np.isnan(sig.exit[before]) and np.isnan(sig.factor[before])  # no next session to sell in
    assert np.isnan(sig.target[after])  # no previous session's range
    assert follows[monday] and not np.isnan(sig.target[monday])  # Friday -> Monday is adjacent


@needs_shared
def test_an_outage_in_bithumb_history_is_a_gap():
    days = shared_coins()[("bithumb_BTC_KRW_daily_2013-12-27_2022-03-04.csv", "bithumb", "BTC/KRW")]
    dates, o, h, lo, c = arrays(days)
    before, after = row_of(days, date(2014, 5, 16)), row_of(days, date(2014, 7, 2))  # Bithumb served nothing between

    sig = breakout.signals(o, h, lo, c, k=None, lookback=20, follows=breakout.follows_by_calendar(dates))

    assert after == before + 1
    assert np.isnan(sig.factor[before]) and np.isnan(sig.target[after])
    # best K needs 20 judged days again after the gap
    assert np.isnan(sig.k[after : after + 21]).all() and not np.isnan(sig.k[after + 21])


# --- no look-ahead ------------------------------------------------------------------------


def test_a_days_k_target_and_filter_use_nothing_after_its_open():
    """Cut the history right after day d's open (d's high, low and close unknown, later days
    gone): d's k, target and filter and every earlier day's trade stay the same."""
    days = shipped_coins()[("upbit", "ETH/KRW from 2023")]
    _, o, h, lo, c = arrays(days)
    full = breakout.signals(o, h, lo, c, k=None, lookback=20, ma_window=5, costs=UPBIT)

    for d in range(30, len(days), 23):
        cut_h, cut_l, cut_c = h[: d + 1].copy(), lo[: d + 1].copy(), c[: d + 1].copy()
        cut_h[d] = cut_l[d] = cut_c[d] = np.nan
        cut = breakout.signals(o[: d + 1], cut_h, cut_l, cut_c, k=None, lookback=20, ma_window=5, costs=UPBIT)

        for name in ("k", "target", "ma"):
            assert np.array_equal(getattr(cut, name), getattr(full, name)[: d + 1], equal_nan=True), (d, name)
        assert cut.allowed[d] == full.allowed[d]
        for name in ("entry", "factor"):
            assert np.array_equal(getattr(cut, name)[:d], getattr(full, name)[:d], equal_nan=True), (d, name)


def test_changing_future_candles_never_changes_a_past_decision():
    """Replace everything after day d with another coin's real candles: days before d decide
    and trade exactly as before."""
    btc_days, eth_days = btc(), shipped_coins()[("upbit", "ETH/KRW")]
    _, o, h, lo, c = arrays(btc_days)
    _, eo, eh, el, ec = arrays(eth_days)
    full = breakout.signals(o, h, lo, c, k=None, lookback=20, ma_window=5, costs=UPBIT)

    for d in (60, 150, 300):
        spliced = [
            np.concatenate([mine[: d + 1], other[d + 1 :]]) for mine, other in ((o, eo), (h, eh), (lo, el), (c, ec))
        ]
        other = breakout.signals(*spliced, k=None, lookback=20, ma_window=5, costs=UPBIT)

        for name in ("k", "target", "ma", "allowed", "entered", "entry"):
            assert np.array_equal(getattr(other, name)[: d + 1], getattr(full, name)[: d + 1], equal_nan=True), (
                d,
                name,
            )
        # day d's trade exits at the (changed) open of d+1; every earlier trade is the same
        assert np.array_equal(other.factor[:d], full.factor[:d], equal_nan=True)
        assert not np.array_equal(other.factor, full.factor, equal_nan=True)  # the future did change


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        breakout.grid([1.0, 2.0], [1.0], [1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        breakout.grid([1.0], [1.0], [1.0], [1.0], ks=[0.5, 0.2])  # not ascending: ties would go to the wrong k
    with pytest.raises(ValueError):
        breakout.best_k_index(np.ones((3, 2)), 0)
    with pytest.raises(ValueError, match="2024-08-31"):
        breakout.follows_by_sessions(
            np.array(["2024-08-30", "2024-08-31"], dtype="datetime64[D]"),
            np.array(krx_sessions(), dtype="datetime64[D]"),
        )
