"""The breakout rule as a plain day-by-day loop, and real daily series to run it on.

The loop is the reference the vectorized ``bots.breakout`` is held to (tests and
``bench/breakout.py``): written from the rule's text, one day and one k at a time, sharing no
code with the module. Series come from the real recorded files through the project's own parsers
(``markets.importers``), so they are the same candles ``import_candles`` stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from markets.importers import CANDLE_FORMATS, KST

GRID = [step / 100 for step in range(10, 91, 5)]  # 0.10 .. 0.90 by 0.05

# every daily coin series of ../shared/data/coins_daily: (file, parser, options)
SHARED_COIN_FILES = [
    ("bithumb_BTC_KRW_daily_2013-12-27_2022-03-04.csv", "bithumb_daily_csv", {"symbol": "BTC/KRW"}),
    ("investingcom_style_KRW_daily_BTC_ETH_XRP.csv", "investing_csv", {"exchange": "bithumb"}),
    ("binance_spot_BTCUSDT_1d_2019.csv", "binance_csv", {"symbol": "BTC/USDT"}),
    ("upbit_KRW-BTC_daily_aggregated_from_15min_2024-09-26_2025-09-27.csv", "upbit_csv", {"interval": "1d"}),
    ("upbit_KRW_daily_10coins_2024-09-26_2025-09-27.csv", "upbit_csv", {"interval": "1d"}),
    ("upbit_KRW_daily_ADA_AVAX_DOT_LINK_TRX_2024-09-26_2025-09-27.csv", "upbit_csv", {"interval": "1d"}),
    ("upbit_KRW_daily_DOGE_ETH_SOL_XRP_2023-07-25_2025-09-28.csv", "upbit_csv", {"interval": "1d"}),
    ("binance_spot_USDT_daily_21coins_2017-08_2026-01-06.csv.gz", "binance_csv", {}),
]


@dataclass(frozen=True)
class Day:
    date: date  # the candle's day (KST date of its open; a KRX session date)
    open: float
    high: float
    low: float
    close: float


def load_days(path: Path | str, fmt: str, **options) -> dict[tuple[str, str], list[Day]]:
    """Every series of a recorded daily-candle file, keyed (exchange, symbol), oldest first."""
    parsed = CANDLE_FORMATS[fmt](Path(path), **options)
    return {
        (exchange, symbol): [
            Day(
                bar.open_time.astimezone(KST).date(), float(bar.open), float(bar.high), float(bar.low), float(bar.close)
            )
            for bar in bars
        ]
        for (exchange, symbol, _interval), bars in parsed.groups.items()
    }


def krx_sessions() -> list[date]:
    """KRX (XKRX) session dates from exchange-calendars, for the loop's notion of "next day"."""
    import exchange_calendars

    calendar = exchange_calendars.get_calendar("XKRX")
    return [ts.date() for ts in calendar.sessions]


def plain_backtest(
    days: list[Day],
    *,
    k: float | None,
    lookback: int = 20,
    ma: int = 0,
    fee_bps: float = 0.0,
    slippage_bps: float = 0.0,
    tax_bps: float = 0.0,
    first: int = 0,
    initial: float = 1.0,
    sessions: list[date] | None = None,
) -> dict:
    """Volatility breakout, one day at a time. ``k=None`` picks each day's best K from ``GRID``
    over the ``lookback`` previous days. Returns ``{"k": [k of each day or None], "trades":
    [(entry_date, entry_price, exit_date, exit_price, k, factor)], "equity": [equity at each
    open from day ``first``]}``."""
    fee, slip, tax = fee_bps / 10_000, slippage_bps / 10_000, tax_bps / 10_000
    buy_cost = (1 + slip) * (1 + fee)
    sell_keep = (1 - slip) * (1 - fee - tax)
    n = len(days)
    session_index = {d: i for i, d in enumerate(sessions)} if sessions else None

    def next_day_of(i: int) -> bool:
        """Is day i the day (session) right after day i-1?"""
        if i < 1:
            return False
        if session_index is not None:
            return session_index[days[i].date] == session_index[days[i - 1].date] + 1
        return days[i].date - days[i - 1].date == timedelta(days=1)

    @cache
    def trade(d: int, kk: float):
        """(factor, entry price or None) of day d with k = kk; None if the day can't be judged."""
        if d + 1 >= n or not next_day_of(d + 1):
            return None  # no exit
        needed = max(1, ma)
        if d - needed < 0 or not all(next_day_of(j) for j in range(d - needed + 1, d + 1)):
            return None  # no previous day, or not enough days for the average
        today, yesterday = days[d], days[d - 1]
        target = today.open + kk * (yesterday.high - yesterday.low)
        if ma and not today.open > sum(days[j].close for j in range(d - ma, d)) / ma:
            return 1.0, None
        if today.high >= target:
            entry = max(target, today.open)
            return (days[d + 1].open * sell_keep) / (entry * buy_cost), entry
        return 1.0, None

    # each day's trade factor for each k of the grid, judged once, oldest day first
    factors = (
        {kk: [None if (t := trade(d, kk)) is None else t[0] for d in range(n)] for kk in GRID} if k is None else {}
    )

    def best_k(d: int):
        if d - lookback < 0:
            return None
        best, best_growth = None, None
        for kk in GRID:
            window = factors[kk][d - lookback : d]
            if None in window:
                return None
            growth = 1.0
            for factor in window:
                growth *= factor
            if best is None or growth > best_growth:  # strictly greater: ties keep the smaller k
                best, best_growth = kk, growth
        return best

    ks = [k if k is not None else best_k(d) for d in range(n)]
    equity = initial
    curve, trades = [equity], []
    for d in range(first, n - 1):
        kk = ks[d]
        result = trade(d, kk) if kk is not None else None
        if result is not None and result[1] is not None:
            factor, entry = result
            equity *= factor
            trades.append((days[d].date, entry, days[d + 1].date, days[d + 1].open, kk, factor))
        curve.append(equity)
    return {"k": ks, "trades": trades, "equity": curve}
