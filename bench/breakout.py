"""Benchmark: best-K walk-forward over the whole real data set, vectorized vs a plain loop.

Every daily coin series in ``../shared/data/coins_daily`` (Bithumb BTC/KRW 2013-2022, the
investing.com-style KRW series, Upbit KRW, Binance USDT: 46 series) and the 50 KRX stocks of
``krx_daily/krx_daily_ohlcv_top50.csv``, each against the whole k grid (0.10 .. 0.90 by 0.05):

1. vectorized: the series stacked end to end (``follows`` False at each series' first row, so
   no window crosses from one series into the next), one stack per market's costs (Bithumb,
   Upbit, Binance, KRX: four ``bots.breakout.signals`` calls): the rule for every day and
   every k, the walk-forward best K, the chosen trades;
2. the same, one ``signals`` call per series (how the backtester and the bot call it);
3. the plain day-by-day loop of ``tests/bots/breakout_reference.py``, series by series.

It checks that all three give the same best K on every day and the same trades, to the cent of
equity, and prints the times. The issue's aim: the whole set in under 0.5 s. No database.

    .venv/bin/python bench/breakout.py [--lookback 20] [--ma 5] [--repeat 5] [--skip-loop]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bots import breakout  # noqa: E402
from tests.bots.breakout_reference import SHARED_COIN_FILES, krx_sessions, load_days, plain_backtest  # noqa: E402

SLIPPAGE_BPS = 5.0
FEE_BPS = {"bithumb": 25.0, "upbit": 5.0, "binance": 10.0, "krx": 1.5}  # as TRADING["FEE_BPS"]
KRX_SELL_TAX_BPS = 20.0


def load(shared: Path) -> list[dict]:
    """Every series: name, days (reference ``Day`` rows), fee and tax, and KRX sessions or None."""
    series = []
    for name, fmt, options in SHARED_COIN_FILES:
        for (exchange, symbol), days in load_days(shared / "coins_daily" / name, fmt, **options).items():
            series.append(
                {
                    "name": f"{exchange} {symbol} ({name[:24]}...)",
                    "days": days,
                    "fee": FEE_BPS[exchange],
                    "tax": 0.0,
                    "krx": False,
                }
            )
    for (_exchange, code), days in load_days(shared / "krx_daily" / "krx_daily_ohlcv_top50.csv", "krx_daily").items():
        series.append(
            {"name": f"krx {code}", "days": days, "fee": FEE_BPS["krx"], "tax": KRX_SELL_TAX_BPS, "krx": True}
        )
    return series


def stack(series: list[dict], sessions: np.ndarray) -> dict:
    """The series stacked into one panel of (n,) arrays per cost set (fee, tax): costs are
    scalars of the rule, and they differ by market."""
    for s in series:
        dates = np.array([d.date for d in s["days"]], dtype="datetime64[D]")
        s["arrays"] = [np.array([getattr(d, f) for d in s["days"]]) for f in ("open", "high", "low", "close")]
        s["follows"] = (
            breakout.follows_by_sessions(dates, sessions) if s["krx"] else breakout.follows_by_calendar(dates)
        )
    groups: dict[tuple, list[dict]] = {}
    for s in series:
        groups.setdefault((s["fee"], s["tax"]), []).append(s)
    return {
        costs: {
            "series": members,
            "arrays": [np.concatenate([m["arrays"][i] for m in members]) for i in range(4)],
            "follows": np.concatenate([np.concatenate([[False], m["follows"][1:]]) for m in members]),
        }
        for costs, members in groups.items()
    }


def run_stacked(panels: dict, *, lookback: int, ma: int) -> dict:
    return {
        costs: breakout.signals(
            *panel["arrays"],
            k=None,
            lookback=lookback,
            follows=panel["follows"],
            ma_window=ma,
            costs=breakout.Costs(costs[0], SLIPPAGE_BPS, costs[1]),
        )
        for costs, panel in panels.items()
    }


def run_each(series: list[dict], *, lookback: int, ma: int) -> list:
    return [
        breakout.signals(
            *s["arrays"],
            k=None,
            lookback=lookback,
            follows=s["follows"],
            ma_window=ma,
            costs=breakout.Costs(s["fee"], SLIPPAGE_BPS, s["tax"]),
        )
        for s in series
    ]


def timed(fn, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data", help="the recorded data set")
    parser.add_argument("--lookback", type=int, default=20)
    parser.add_argument("--ma", type=int, default=5)
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs of the vectorized passes (best and median shown)"
    )
    parser.add_argument("--skip-loop", action="store_true", help="skip the plain loop (takes ~half a minute)")
    args = parser.parse_args()
    if not (args.shared / "coins_daily").is_dir():
        sys.exit(f"{args.shared}/coins_daily not found: this bench needs the recorded data set (--shared)")

    start = time.perf_counter()
    series = load(args.shared)
    sessions = np.array(krx_sessions(), dtype="datetime64[D]")
    panels = stack(series, sessions)
    load_s = time.perf_counter() - start
    rows = sum(len(s["days"]) for s in series)
    coins = sum(not s["krx"] for s in series)
    ks = len(breakout.K_GRID)
    print(
        f"data: {coins} coin series + {len(series) - coins} KRX stocks, {rows:,} daily rows x {ks} k = {rows * ks:,} "
        f"(day, k) cells; lookback {args.lookback}, MA{args.ma}; loaded and parsed in {load_s:.1f} s (not timed below)"
    )

    stacked_times, stacked = timed(lambda: run_stacked(panels, lookback=args.lookback, ma=args.ma), args.repeat)
    each_times, each = timed(lambda: run_each(series, lookback=args.lookback, ma=args.ma), args.repeat)

    # the stacked pass and the per-series calls agree row for row
    for costs, panel in panels.items():
        k_each = np.concatenate([each[series.index(m)].k for m in panel["series"]])
        assert np.array_equal(stacked[costs].k, k_each, equal_nan=True), "stacked and per-series best K differ"

    def line(label, times):
        return f"{label:<44} best {min(times) * 1000:8.1f} ms   median {statistics.median(times) * 1000:8.1f} ms"

    print(line("vectorized, series stacked (4 calls)", stacked_times))
    print(line("vectorized, one call per series", each_times))
    verdict = "within" if min(stacked_times) < 0.5 else "OVER"
    print(f"aim: the whole set under 500 ms -> {verdict} ({min(stacked_times) * 1000:.1f} ms)")

    if args.skip_loop:
        return
    start = time.perf_counter()
    loops = [
        plain_backtest(
            s["days"],
            k=None,
            lookback=args.lookback,
            ma=args.ma,
            fee_bps=s["fee"],
            slippage_bps=SLIPPAGE_BPS,
            tax_bps=s["tax"],
            sessions=list(sessions.astype(object)) if s["krx"] else None,
            initial=10_000_000,
        )
        for s in series
    ]
    loop_s = time.perf_counter() - start
    print(
        f"{'plain day-by-day loop, series by series':<44} {loop_s * 1000:13.1f} ms   "
        f"({loop_s / min(stacked_times):,.0f}x the stacked pass)"
    )

    k_days = trades = 0
    worst_cent = 0.0
    for s, sig, loop in zip(series, each, loops, strict=True):
        loop_k = np.array([np.nan if x is None else x for x in loop["k"]])
        assert np.array_equal(sig.k, loop_k, equal_nan=True), f"{s['name']}: best K differs from the loop"
        k_days += int((~np.isnan(loop_k)).sum())
        dates = np.array([d.date for d in s["days"]], dtype="datetime64[D]")
        result = breakout.backtest(
            dates,
            *s["arrays"],
            k=None,
            lookback=args.lookback,
            follows=s["follows"],
            ma_window=args.ma,
            costs=breakout.Costs(s["fee"], SLIPPAGE_BPS, s["tax"]),
            initial=10_000_000,
        )
        assert [(s["days"][i].date, result.signals.entry[i]) for i in result.trade_rows] == [
            (t[0], t[1]) for t in loop["trades"]
        ], s["name"]
        trades += len(loop["trades"])
        worst_cent = max(worst_cent, float(np.abs(result.equity - np.array(loop["equity"])).max()))
    print(
        f"check: same best K on all {k_days:,} days that have one, same {trades:,} trades, "
        f"equity within {worst_cent:.6f} of the loop (10,000,000 start) -> OK"
    )


if __name__ == "__main__":
    main()
