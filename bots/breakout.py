"""Volatility breakout (Larry Williams) on daily candles: targets, best K walk-forward, backtest.

Pure numpy, no Django: the live bot (``bots.services``) and the backtester
(``manage.py backtest_breakout``, ``POST /api/v1/backtests/``) both call ``signals``, so the bot
trades exactly the rule that was backtested, and the math can be tested and benchmarked alone.

Rows are one instrument's daily candles in time order (a crypto day from its exchange's day
boundary; a KRX session), prices float64 in the quote currency. For day ``d``::

    range[d-1]   = high[d-1] - low[d-1]
    target[d]    = open[d] + k * range[d-1]
    filter       (N > 0 only) open[d] > mean(close[d-N .. d-1])
    entry        when high[d] >= target[d], filled at max(target[d], open[d])
    exit         at open[d+1]
    trade factor = open[d+1] * (1 - s) * (1 - f - t) / (max(target[d], open[d]) * (1 + s) * (1 + f))

with ``s`` the slippage and ``f`` the fee per leg and ``t`` a tax on sells (KRX), as fractions;
this is what the paper account charges (fills moved by the slippage, fee and tax as fractions
of the traded value). The factor is what the trade multiplies equity by; a day without a trade
has factor 1. (With k >= 0 the target is never below the open; the ``max`` keeps the rule
right for any k.)

Best K for day ``d`` (walk-forward): the k of the grid whose compounded factor over the ``L``
days ``d-L .. d-1`` is largest, ties to the smaller k. Day d-1's trade exits at open[d], so day
d's k uses nothing after open[d]: no look-ahead.

Gaps: ``follows[d]`` says candle d is the day (session) right after candle d-1. Across a gap (an
exchange outage, a KRX trading halt) there is no "previous day" and no "next day": the day after
a gap has no target, the day before it cannot trade (its exit is unknown), the moving average
needs N adjacent days before d, and a best-K window needs L days that can all be evaluated. The
same rule lets many series be stacked end to end and computed in one pass (``follows`` False at
each series' first row), which is how ``bench/breakout.py`` runs the whole data set.

Float arithmetic is done in the order a plain day-by-day loop would do it (sums and products
from the oldest day to the newest), so a loop gives bit-identical numbers; the tests hold the
two to the cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# 0.10, 0.15, ... 0.90: integers / 100, so each k is the double nearest its decimal
K_GRID = np.arange(10, 91, 5) / 100
BPS_PER_UNIT = 10_000  # basis points in 1; dividing (not multiplying by 1e-4) gives the nearest double


@dataclass(frozen=True)
class Costs:
    """Trading costs per leg in basis points of the traded value: ``fee_bps`` (commission, both
    legs), ``slippage_bps`` (fill price moved against the taker, both legs) and
    ``sell_tax_bps`` (a tax on sells only, e.g. KRX's securities transaction tax)."""

    fee_bps: float = 0.0
    slippage_bps: float = 0.0
    sell_tax_bps: float = 0.0

    @property
    def buy_cost(self) -> float:
        """Cash paid per unit of entry price: (1 + s)(1 + f)."""
        return (1 + self.slippage_bps / BPS_PER_UNIT) * (1 + self.fee_bps / BPS_PER_UNIT)

    @property
    def sell_keep(self) -> float:
        """Cash kept per unit of exit price: (1 - s)(1 - f - t)."""
        return (1 - self.slippage_bps / BPS_PER_UNIT) * (
            1 - self.fee_bps / BPS_PER_UNIT - self.sell_tax_bps / BPS_PER_UNIT
        )


# --- which candles are adjacent --------------------------------------------------------------


def follows_by_calendar(dates: np.ndarray) -> np.ndarray:
    """Crypto days: ``follows[i]`` is True when ``dates[i]`` is the calendar day after
    ``dates[i-1]``. ``dates``: datetime64[D], ascending; returns bool (n,), False at row 0."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    follows = np.zeros(len(dates), dtype=bool)
    follows[1:] = (dates[1:] - dates[:-1]) == np.timedelta64(1, "D")
    return follows


def follows_by_sessions(dates: np.ndarray, sessions: np.ndarray) -> np.ndarray:
    """Exchange sessions (KRX): ``follows[i]`` is True when ``dates[i]`` is the session right
    after ``dates[i-1]`` in ``sessions`` (datetime64[D], ascending, covering ``dates``), so a
    weekend or holiday is no gap but a trading halt (a missing session) is. Raises
    ``ValueError`` naming the first date that is not a session."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    sessions = np.asarray(sessions, dtype="datetime64[D]")
    position = np.searchsorted(sessions, dates)
    inside = position < len(sessions)
    known = inside & (sessions[np.where(inside, position, 0)] == dates)
    if not known.all():
        raise ValueError(f"{dates[~known][0]} is not a session of the exchange calendar")
    follows = np.zeros(len(dates), dtype=bool)
    follows[1:] = np.diff(position) == 1
    return follows


def _run_length(follows: np.ndarray) -> np.ndarray:
    """Adjacent days before each row: 0 at the first row and right after a gap, then 1, 2..."""
    index = np.arange(len(follows))
    run_start = np.maximum.accumulate(np.where(follows, 0, index))
    return index - run_start


# --- the rule over a grid of k ---------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """The rule for every day and every k of a grid (n days, K values of k).

    ``target``, ``entry`` (fill price, NaN without an entry) and ``factor`` are (n, K);
    ``factor`` is 1.0 on a day without a trade and NaN on a day the rule cannot be evaluated
    (no adjacent previous day, no adjacent next day, or too few days for the moving average).
    ``ma`` (NaN when the filter is off or lacks days), ``allowed`` (the filter lets the day
    trade), ``exit`` (open of the adjacent next day, else NaN) and ``evaluable`` are (n,).
    """

    ks: np.ndarray
    target: np.ndarray
    entry: np.ndarray
    factor: np.ndarray
    ma: np.ndarray
    allowed: np.ndarray
    exit: np.ndarray
    evaluable: np.ndarray


def _as_arrays(open_, high, low, close) -> tuple[np.ndarray, ...]:
    arrays = tuple(np.asarray(x, dtype=np.float64) for x in (open_, high, low, close))
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise ValueError("open, high, low and close must be 1-d arrays of one length")
    return arrays


def grid(open_, high, low, close, *, ks=K_GRID, follows=None, ma_window: int = 0, costs: Costs = Costs()) -> Grid:
    """The breakout rule on every day for every k in ``ks`` at once (see the module docstring).

    ``open_, high, low, close``: (n,) prices; ``ks``: (K,) ascending, >= 0; ``follows``: (n,)
    bool adjacency (default: every row follows the previous one); ``ma_window``: N of the
    moving-average filter, 0 = off. Raises ``ValueError`` on mismatched shapes or a bad grid.
    """
    o, h, lo, c = _as_arrays(open_, high, low, close)
    n = len(o)
    ks = np.asarray(ks, dtype=np.float64)
    if ks.ndim != 1 or not len(ks) or (ks < 0).any() or (np.diff(ks) <= 0).any():
        raise ValueError("ks must be a non-empty ascending 1-d grid of k >= 0")
    if ma_window < 0:
        raise ValueError("ma_window must be >= 0")
    follows = np.ones(n, dtype=bool) if follows is None else np.array(follows, dtype=bool)
    if follows.shape != (n,):
        raise ValueError("follows must have one flag per row")
    if n:
        follows[0] = False
    run = _run_length(follows)

    prev_range = np.full(n, np.nan)
    prev_range[1:] = h[:-1] - lo[:-1]
    prev_range[run < 1] = np.nan
    exit_ = np.full(n, np.nan)
    exit_[:-1] = np.where(follows[1:], o[1:], np.nan)

    if ma_window:
        # close[d-N] is added first, then ... close[d-1], exactly as sum(close[d-N:d]) would
        total = np.zeros(n)
        for back in range(ma_window, 0, -1):
            shifted = np.full(n, np.nan)
            shifted[back:] = c[:-back]
            total += shifted
        ma = total / ma_window
        ma[run < ma_window] = np.nan
        with np.errstate(invalid="ignore"):
            allowed = o > ma
    else:
        ma = np.full(n, np.nan)
        allowed = np.ones(n, dtype=bool)

    target = o[:, None] + ks[None, :] * prev_range[:, None]
    with np.errstate(invalid="ignore"):
        entered = (h[:, None] >= target) & allowed[:, None]
    entry = np.where(entered, np.maximum(target, o[:, None]), np.nan)
    with np.errstate(invalid="ignore"):
        factor = np.where(entered, (exit_[:, None] * costs.sell_keep) / (entry * costs.buy_cost), 1.0)
    evaluable = (run >= max(1, ma_window)) & ~np.isnan(exit_) & ~np.isnan(o) & ~np.isnan(h) & ~np.isnan(lo)
    factor[~evaluable] = np.nan
    return Grid(
        ks=ks, target=target, entry=entry, factor=factor, ma=ma, allowed=allowed, exit=exit_, evaluable=evaluable
    )


def window_growth(factor: np.ndarray, lookback: int) -> np.ndarray:
    """Compounded factor of days d-L .. d-1 for every day d and column: (n, K) -> (n, K).

    NaN where the window reaches before row 0 or holds a day that cannot be evaluated. The
    product runs oldest day first, as a loop would (L vector multiplies, not a loop over days).
    """
    if lookback < 1:
        raise ValueError("lookback must be >= 1")
    n = factor.shape[0]
    growth = np.ones_like(factor)
    for back in range(lookback, 0, -1):
        growth[back:] *= factor[: n - back] if back < n else factor[:0]
    growth[: min(lookback, n)] = np.nan
    return growth


def best_k_index(factor: np.ndarray, lookback: int) -> np.ndarray:
    """Walk-forward best K: for each day d the column of ``factor`` (n, K) with the largest
    compounded factor over days d-L .. d-1, ties to the smaller k (the lower column, so the grid
    must be ascending). Returns int (n,), -1 where the window is incomplete."""
    growth = window_growth(factor, lookback)
    complete = ~np.isnan(growth).any(axis=1)
    best = np.argmax(np.where(complete[:, None], growth, 0.0), axis=1)  # argmax: first of equals
    return np.where(complete, best, -1)


# --- the rule with the k actually used ---------------------------------------------------------


@dataclass(frozen=True)
class Signals:
    """The rule per day with the k in use (fixed, or each day's best K): all (n,).

    ``k`` (NaN when best K has no complete window), ``target``, ``ma``, ``allowed``, ``entered``
    (the day's high reached the target and the filter allowed it), ``entry`` (fill price before
    slippage, NaN unless entered), ``exit`` (next open) and ``factor`` (1.0 without a trade,
    NaN where the day cannot be evaluated or has no k).
    """

    k: np.ndarray
    target: np.ndarray
    ma: np.ndarray
    allowed: np.ndarray
    entered: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    factor: np.ndarray


def signals(
    open_,
    high,
    low,
    close,
    *,
    k: float | None = None,
    ks=K_GRID,
    lookback: int = 20,
    follows=None,
    ma_window: int = 0,
    costs: Costs = Costs(),
) -> Signals:
    """The rule per day with a fixed ``k``, or (``k=None``) with each day's best K from ``ks``
    over the previous ``lookback`` days. Shapes and errors as ``grid``.

    Day d's ``k``, ``target``, ``ma`` and ``allowed`` depend on rows up to d-1 and open[d]
    only, so the live bot can call this with today's high, low and close unknown (NaN).
    """
    if k is None:
        g = grid(open_, high, low, close, ks=ks, follows=follows, ma_window=ma_window, costs=costs)
        column = best_k_index(g.factor, lookback)
    else:
        if not math.isfinite(k) or k < 0:
            raise ValueError("k must be a finite number >= 0")
        g = grid(open_, high, low, close, ks=[float(k)], follows=follows, ma_window=ma_window, costs=costs)
        column = np.zeros(len(g.exit), dtype=int)
    has_k = column >= 0
    rows = np.arange(len(column))
    pick = np.where(has_k, column, 0)
    entry = np.where(has_k, g.entry[rows, pick], np.nan)
    return Signals(
        k=np.where(has_k, g.ks[pick], np.nan),
        target=np.where(has_k, g.target[rows, pick], np.nan),
        ma=g.ma,
        allowed=g.allowed,
        entered=~np.isnan(entry),
        entry=entry,
        exit=g.exit,
        factor=np.where(has_k, g.factor[rows, pick], np.nan),
    )


# --- backtest ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurveStats:
    """Summary of an equity curve: ``total_return``, ``cagr`` (per 365.25 calendar days) and
    ``max_drawdown`` (largest fall from a running peak, 0.25 = 25 %) as fractions; ``sharpe``
    annualized from the per-day returns (risk-free 0); NaN where undefined."""

    total_return: float
    cagr: float
    max_drawdown: float
    sharpe: float


@dataclass(frozen=True)
class BacktestResult:
    """A backtest over rows ``first .. last`` (the span; earlier rows only warm up K, target
    and the moving average).

    ``equity`` and ``buy_and_hold`` (m,) are the value at the open of each day of the span,
    starting at ``initial``: the strategy is in cash at every open (its trade of day d is sold
    at open[d+1]); buy-and-hold buys at the first open and is valued as if sold at each open,
    costs included. ``trade_rows`` are the rows of the trades closed inside the span;
    ``returns`` (m-1,) the strategy's per-day return. ``exposure`` is the fraction of the
    span's days (all but the last, whose trade would exit after it) that held a position.
    """

    signals: Signals
    first: int
    equity: np.ndarray
    buy_and_hold: np.ndarray
    returns: np.ndarray
    trade_rows: np.ndarray
    stats: CurveStats
    buy_and_hold_stats: CurveStats
    number_of_trades: int
    win_rate: float
    exposure: float


def curve_stats(curve: np.ndarray, *, days: float, periods_per_year: float) -> CurveStats:
    """``curve``: (m,) equity at each period; ``days``: calendar days from its first to last
    point (for CAGR); ``periods_per_year``: 365 for crypto days, 252 for KRX sessions."""
    growth = curve[-1] / curve[0]
    cagr = growth ** (365.25 / days) - 1 if days > 0 else math.nan
    drawdown = float(np.max(1 - curve / np.maximum.accumulate(curve)))
    returns = curve[1:] / curve[:-1] - 1
    sd = float(np.std(returns, ddof=1)) if len(returns) > 1 else 0.0
    sharpe = float(np.mean(returns)) / sd * math.sqrt(periods_per_year) if sd > 0 else math.nan
    return CurveStats(total_return=float(growth - 1), cagr=float(cagr), max_drawdown=drawdown, sharpe=sharpe)


def backtest(
    dates,
    open_,
    high,
    low,
    close,
    *,
    first: int = 0,
    k: float | None = None,
    ks=K_GRID,
    lookback: int = 20,
    follows=None,
    ma_window: int = 0,
    costs: Costs = Costs(),
    initial: float = 1.0,
    periods_per_year: float = 365,
) -> BacktestResult:
    """Run the rule over rows ``first .. n-1`` (``dates`` datetime64[D] (n,), prices (n,));
    ``k=None`` is best K walk-forward over ``ks`` and ``lookback``. A trade counts when its
    exit (next open) is inside the span. Raises ``ValueError`` when the span is empty."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    o = np.asarray(open_, dtype=np.float64)
    n = len(o)
    if not 0 <= first < n:
        raise ValueError("the span has no candles")
    if follows is None:
        follows = follows_by_calendar(dates)
    sig = signals(o, high, low, close, k=k, ks=ks, lookback=lookback, follows=follows, ma_window=ma_window, costs=costs)
    span = slice(first, n - 1)  # days whose trade exits inside the span
    traded = sig.entered[span] & ~np.isnan(sig.factor[span])
    day_factor = np.where(traded, sig.factor[span], 1.0)
    equity = np.cumprod(np.concatenate([[float(initial)], day_factor]))
    buy_and_hold = np.full(n - first, float(initial))
    buy_and_hold[1:] = initial * (o[first + 1 :] / o[first]) * costs.sell_keep / costs.buy_cost
    days = float((dates[-1] - dates[first]) / np.timedelta64(1, "D"))
    trades = int(traded.sum())
    return BacktestResult(
        signals=sig,
        first=first,
        equity=equity,
        buy_and_hold=buy_and_hold,
        returns=day_factor - 1,
        trade_rows=np.flatnonzero(traded) + first,
        stats=curve_stats(equity, days=days, periods_per_year=periods_per_year),
        buy_and_hold_stats=curve_stats(buy_and_hold, days=days, periods_per_year=periods_per_year),
        number_of_trades=trades,
        win_rate=float((day_factor[traded] > 1).sum() / trades) if trades else math.nan,
        exposure=trades / (n - 1 - first) if n - 1 > first else 0.0,
    )
