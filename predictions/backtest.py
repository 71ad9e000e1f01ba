"""Backtest of daily up/down picks on KRX sessions. No Django.

Rules (``run_backtest``):

* Sessions ``first`` .. ``last`` of a ``Panel`` (its rows are consecutive KRX sessions, so
  "5 sessions later" is 5 rows later, holidays included correctly).
* At the close of each session t, buy the ``top_n`` best-scored stocks that traded at t (a
  halt or a session with zero volume cannot be traded), as long as their exit is due by
  ``last`` (t + hold_sessions <= last), so that every position closes inside the period.
* Sizing: equal weight within the available capital. Each buy gets equity / (top_n x
  hold_sessions), the share of the current equity one position has when the ``hold_sessions``
  overlapping cohorts are all invested, and never more than the cash left (buy fee included).
  Shares are fractional: this is a research simulation, not orders (a 100,000 KRW slot could
  not buy one share of a 900,000 KRW stock otherwise).
* Exit at the close ``hold_sessions`` sessions after the entry, or earlier at the stop: when a
  session opens at or below entry x (1 - stop_loss_pct / 100) the position is sold at that open
  (the price gapped through the stop), else when its low reaches the stop it is sold at the stop
  price. A position that cannot be traded when due (halt) is sold at the next session it
  trades; one still held at ``last`` is sold at its last known close (reason "end").
* Costs: ``buy_fee_pct`` on buys, ``sell_fee_pct`` plus the KRX sell tax on sells, all in
  percent of the traded value. The sell tax defaults to the statutory rate of the sell date's
  year (``KRX_SELL_TAX_PCT``); pass ``sell_tax_pct`` to fix it.
* Equity = cash + shares x last known close, at every session close; compounded, since each
  buy is sized on the equity of that session.
* Benchmark: the equal-weight universe (every stock of the panel), rebalanced each session:
  the mean close-to-close return of the stocks that traded, against their last known close,
  no costs.

Money is float64 KRW here (a simulation, not the ledger); the service rounds what it stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from predictions.features import Panel

# KRX sell-side tax in percent of the sale value (securities transaction tax plus the special tax
# for rural development on KOSPI; the KOSDAQ rate totals the same in these years), by year.
KRX_SELL_TAX_PCT = {2021: 0.23, 2022: 0.23, 2023: 0.20, 2024: 0.18, 2025: 0.15}
# Before 2021 (the years of ../shared/data/krx_daily_2006/): 0.30 % in total (KOSPI 0.15 %
# securities transaction tax + 0.15 % rural development tax; KOSDAQ 0.30 % transaction tax) until
# the cut of 2019-06-03, then 0.25 % to the end of 2020.
KRX_SELL_TAX_BEFORE_2021 = ((date(2006, 1, 1), 0.30), (date(2019, 6, 3), 0.25))


def krx_sell_tax_pct(day: date) -> float:
    """The KRX sell tax in percent on ``day`` (2006 ..: ``KRX_SELL_TAX_BEFORE_2021``, then
    ``KRX_SELL_TAX_PCT``); raises ``ValueError`` for a day outside them (give the rate
    explicitly then)."""
    if day.year in KRX_SELL_TAX_PCT:
        return KRX_SELL_TAX_PCT[day.year]
    if KRX_SELL_TAX_BEFORE_2021[0][0] <= day < date(2021, 1, 1):
        return [pct for since, pct in KRX_SELL_TAX_BEFORE_2021 if since <= day][-1]
    raise ValueError(f"no KRX sell tax rate known for {day.year}; give sell_tax_pct")


@dataclass(frozen=True)
class BacktestParams:
    """``top_n`` picks a session held ``hold_sessions`` sessions; percentages are percent
    (0.015 = 0.015 %); ``initial_capital`` KRW."""

    top_n: int = 20
    hold_sessions: int = 5
    stop_loss_pct: float | None = None
    buy_fee_pct: float = 0.015
    sell_fee_pct: float = 0.015
    sell_tax_pct: float | None = None
    initial_capital: float = 10_000_000.0

    def __post_init__(self):
        if self.top_n < 1 or self.hold_sessions < 1:
            raise ValueError("top_n and hold_sessions must be at least 1")
        if self.stop_loss_pct is not None and not 0 < self.stop_loss_pct < 100:
            raise ValueError("stop_loss_pct must be between 0 and 100")
        if self.initial_capital <= 0:
            raise ValueError("initial_capital must be positive")


@dataclass
class Trade:
    """One round trip. Prices KRW per share; ``cost`` = paid incl. the buy fee, ``proceeds`` =
    received after the sell fee and tax; ``reason``: "hold", "stop" or "end"."""

    code: str
    entry_date: date
    entry_price: float
    shares: float
    cost: float
    exit_date: date | None = None
    exit_price: float | None = None
    proceeds: float | None = None
    reason: str | None = None

    @property
    def net_return(self) -> float:
        return self.proceeds / self.cost - 1


@dataclass
class BacktestResult:
    """``dates`` (session dates), ``equity`` and ``benchmark`` (KRW at each session close,
    float arrays of the same length), the ``trades`` in exit order, and ``metrics``."""

    dates: list[date]
    equity: np.ndarray
    benchmark: np.ndarray
    trades: list[Trade] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)


def max_drawdown(curve: np.ndarray) -> float:
    """Largest fall from a running peak, as a positive fraction (0.25 = -25 %)."""
    if len(curve) == 0:
        return 0.0
    peaks = np.maximum.accumulate(curve)
    return float(np.max(1 - curve / peaks))


def cagr(start_value: float, end_value: float, first_day: date, last_day: date) -> float | None:
    """Compound annual growth rate over the calendar time from ``first_day`` to ``last_day``
    (365.25-day years); None when no time passed."""
    days = (last_day - first_day).days
    if days <= 0 or start_value <= 0:
        return None
    return float((end_value / start_value) ** (365.25 / days) - 1)


def _last_known(x: np.ndarray) -> np.ndarray:
    return pd.DataFrame(x).ffill().to_numpy()


def equal_weight_benchmark(panel: Panel, first: int, last: int, initial: float) -> np.ndarray:
    """The equal-weight universe, rebalanced every session, KRW (last - first + 1,)."""
    known = _last_known(panel.close)
    curve = np.empty(last - first + 1)
    curve[0] = initial
    for i, t in enumerate(range(first + 1, last + 1), start=1):
        with np.errstate(invalid="ignore", divide="ignore"):
            returns = panel.close[t] / known[t - 1] - 1
        returns = returns[~np.isnan(returns)]
        curve[i] = curve[i - 1] * (1 + (returns.mean() if len(returns) else 0.0))
    return curve


def run_backtest(panel: Panel, scores: np.ndarray, first: int, last: int, params: BacktestParams) -> BacktestResult:
    """Simulate the picks of ``scores`` (float (T, N), higher = better, NaN = no pick) on
    panel rows ``first`` .. ``last`` under ``params`` (rules in the module docstring).

    Raises ``ValueError`` when the period is empty or the sell tax of a year is unknown.
    """
    if not 0 <= first <= last < len(panel.sessions):
        raise ValueError("the backtest period is outside the panel")
    days = [ts.date() for ts in panel.sessions]
    known = _last_known(panel.close)
    tradeable = panel.traded & (np.nan_to_num(panel.volume) > 0)
    buy_fee, sell_fee = params.buy_fee_pct / 100, params.sell_fee_pct / 100
    cash, held, trades = params.initial_capital, [], []
    equity = np.empty(last - first + 1)

    def marked(t: int) -> float:
        return cash + sum(position.shares * known[t, n] for n, _, position in held)

    for i, t in enumerate(range(first, last + 1)):
        tax = (params.sell_tax_pct if params.sell_tax_pct is not None else krx_sell_tax_pct(days[t])) / 100
        still = []
        for n, due, position in held:
            price = reason = None
            if tradeable[t, n]:
                if params.stop_loss_pct is not None:
                    stop = position.entry_price * (1 - params.stop_loss_pct / 100)
                    if panel.open[t, n] <= stop:
                        price, reason = panel.open[t, n], "stop"
                    elif panel.low[t, n] <= stop:
                        price, reason = stop, "stop"
                if price is None and t >= due:
                    price, reason = panel.close[t, n], "hold"
            if price is None and t == last:
                price, reason = known[t, n], "end"
            if price is None:
                still.append((n, due, position))
                continue
            position.exit_date, position.exit_price, position.reason = days[t], float(price), reason
            position.proceeds = position.shares * price * (1 - sell_fee - tax)
            cash += position.proceeds
            trades.append(position)
        held = still

        if t + params.hold_sessions <= last:
            row = np.where(tradeable[t], scores[t], np.nan)
            candidates = np.flatnonzero(~np.isnan(row))
            # highest score first; equal scores in column (code) order
            picks = candidates[np.lexsort((candidates, -row[candidates]))][: params.top_n]
            slot = marked(t) / (params.top_n * params.hold_sessions)
            for n in picks:
                budget = min(slot, cash / (1 + buy_fee))
                if budget <= 0:
                    break
                price = panel.close[t, n]
                position = Trade(
                    code=str(panel.codes[n]),
                    entry_date=days[t],
                    entry_price=float(price),
                    shares=budget / price,
                    cost=budget * (1 + buy_fee),
                )
                cash -= position.cost
                held.append((n, t + params.hold_sessions, position))
        equity[i] = marked(t)

    benchmark = equal_weight_benchmark(panel, first, last, params.initial_capital)
    result = BacktestResult(dates=days[first : last + 1], equity=equity, benchmark=benchmark, trades=trades)
    result.metrics = backtest_metrics(result, params.initial_capital)
    return result


def backtest_metrics(result: BacktestResult, initial: float) -> dict:
    """total return, CAGR, maximum drawdown (fractions) of the strategy and the benchmark, the
    number of trades, win rate (net return > 0) and average net return per trade."""
    first_day, last_day = result.dates[0], result.dates[-1]
    returns = np.array([trade.net_return for trade in result.trades])
    end, bench_end = float(result.equity[-1]), float(result.benchmark[-1])
    return {
        "sessions": len(result.dates),
        "final_equity": end,
        "total_return": end / initial - 1,
        "cagr": cagr(initial, end, first_day, last_day),
        "max_drawdown": max_drawdown(result.equity),
        "trades": len(returns),
        "win_rate": float((returns > 0).mean()) if len(returns) else None,
        "avg_trade_return": float(returns.mean()) if len(returns) else None,
        "benchmark_total_return": bench_end / initial - 1,
        "benchmark_cagr": cagr(initial, bench_end, first_day, last_day),
        "benchmark_max_drawdown": max_drawdown(result.benchmark),
    }
