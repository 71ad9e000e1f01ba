"""Walk-forward evaluation of the gbm learner over years, with KRX costs, against baselines. No Django.

For each test period (a calendar year; with ``retrain="monthly"`` each month of it) a model is
trained on the sessions before it (expanding window) with a ``purge`` of 5 sessions at the
boundary: a training sample t needs t + 5 <= the last session before the test period, so no
training label reads a price of the test period. It then scores the period. Features are
computed once on the whole panel (``predictions.features``: row t reads rows <= t only), so a
score at t never depends on a later session: ``tests/predictions/test_walkforward.py`` perturbs
the sessions after a test date and checks that no score on or before it changes.

Two labels (``LABELS``), each with its own models: ``prototype`` (up = close[t+5] >= 1.04 x
close[t], down = below close[t], the middle left out) and ``sign`` (the sign of the 5-session
return; zero returns left out). Baselines scored on the same cells: ``momentum_20`` (rank of
log close[t] / close[t-19]) and ``reversal_5`` (rank of minus log close[t] / close[t-5]).

Figures per year and pooled, per label and scorer (``score_figures``): samples, base rate, AUC,
mean per-session AUC, precision at 20, accuracy (the model's p >= 0.5; None for the ranks),
the decile table (per session, score deciles of the stocks with a known 5-session return; the
mean 5-session return per decile), the top-minus-bottom spread, and the weekly portfolio
(``weekly_portfolio``): every 5th session of the period buy the top decile equal-weighted at
the close and sell 5 sessions later at the close, paying ``COMMISSION_PCT`` and
``SLIPPAGE_PCT`` on both sides and the KRX sell tax of the sell date (``krx_sell_tax_pct``),
the whole decile turned over each week (an upper bound on costs); against the equal-weight
universe of the same weeks (every stock with a known 5-session return, no costs).

What the numbers are not: the universe is the stocks listed in 2022 (survivorship: the
delisted are absent, so every long-only figure is optimistic); a stock halted on its exit day
has no known return and is left out; fills at the close with a flat 10 bps slippage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from predictions.backtest import krx_sell_tax_pct
from predictions.evaluation import auc, auc_session_mean, calibration_table, momentum_scores, precision_at_n
from predictions.features import HORIZON, UP_THRESHOLD, WINDOW, Panel, complete_windows, compute_features

LABELS = ("prototype", "sign")
BASELINES = ("momentum_20", "reversal_5")
COMMISSION_PCT = 0.015  # 1.5 bps a side
SLIPPAGE_PCT = 0.10  # 10 bps a side
WEEKS_PER_YEAR = 52


@dataclass(frozen=True)
class WalkForwardConfig:
    """``first_test_year`` .. ``last_test_year`` inclusive; ``retrain`` "yearly" or "monthly";
    each model sees at most ``max_train_samples`` training samples (a uniform draw of all the
    samples before its test period, ``seed``) and ``max_iter`` boosting rounds (fixed: no
    validation split is taken from the training period)."""

    first_test_year: int
    last_test_year: int
    retrain: str = "yearly"
    purge: int = HORIZON
    max_train_samples: int = 300_000
    max_iter: int = 100
    top_n: int = 20
    seed: int = 0
    threads: int = 1

    def __post_init__(self):
        if self.retrain not in ("yearly", "monthly"):
            raise ValueError("retrain must be yearly or monthly")
        if self.last_test_year < self.first_test_year:
            raise ValueError("last_test_year is before first_test_year")
        if self.purge < HORIZON:
            raise ValueError(f"the purge must be at least the {HORIZON}-session horizon")


def forward_returns(panel: Panel, horizon: int = HORIZON) -> np.ndarray:
    """float (T, N): close[t + horizon] / close[t] - 1; NaN when either close is missing."""
    c = panel.close
    out = np.full_like(c, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[: len(c) - horizon] = c[horizon:] / c[: len(c) - horizon] - 1
    return out


def label_array(returns: np.ndarray, label: str) -> np.ndarray:
    """float (T, N) 1.0 / 0.0 / NaN (left out) of the 5-session ``returns`` for ``label``."""
    y = np.full(returns.shape, np.nan)
    with np.errstate(invalid="ignore"):
        if label == "prototype":
            y[returns >= UP_THRESHOLD] = 1.0
            y[returns < 0] = 0.0
        elif label == "sign":
            y[returns > 0] = 1.0
            y[returns < 0] = 0.0
        else:
            raise ValueError(f"unknown label {label!r}; expected one of {', '.join(LABELS)}")
    return y


def reversal_scores(panel: Panel) -> np.ndarray:
    """Percentile rank (0, 1] per session of minus the 5-session log return; NaN without a
    complete 20-session window (the same cells as the model and momentum)."""
    complete = complete_windows(panel)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_c = np.log(panel.close)
    value = np.full(panel.shape, np.nan)
    value[5:] = -(log_c[5:] - log_c[:-5])
    return pd.DataFrame(np.where(complete, value, np.nan)).rank(axis=1, pct=True).to_numpy(copy=True)


def retrain_periods(sessions: pd.DatetimeIndex, config: WalkForwardConfig) -> list[tuple[int, int]]:
    """[(first row, stop row)) of each retraining period inside the test years, in order."""
    years, months = sessions.year.to_numpy(), sessions.month.to_numpy()
    key = years * 100 + (months if config.retrain == "monthly" else 0)
    inside = (years >= config.first_test_year) & (years <= config.last_test_year)
    periods = []
    for k in np.unique(key[inside]):
        rows = np.flatnonzero(inside & (key == k))
        periods.append((int(rows[0]), int(rows[-1]) + 1))
    return periods


def training_cells(
    complete: np.ndarray, y: np.ndarray, first_test_row: int, purge: int
) -> tuple[np.ndarray, np.ndarray]:
    """(t, n) of the training samples for a period starting at ``first_test_row``: labelled,
    with a complete window, and t + purge <= first_test_row - 1 (the purge)."""
    last = first_test_row - 1 - purge
    mask = complete[: max(last + 1, 0)] & ~np.isnan(y[: max(last + 1, 0)])
    return np.nonzero(mask)


def _fit_gbm(x: np.ndarray, y: np.ndarray, config: WalkForwardConfig):
    from sklearn.ensemble import HistGradientBoostingClassifier

    from predictions.learners.gbm import GBM_PARAMS

    params = {**GBM_PARAMS, "max_iter": config.max_iter}
    return HistGradientBoostingClassifier(**params, early_stopping=False, random_state=config.seed).fit(x, y)


def model_scores(
    panel: Panel,
    features: np.ndarray,
    y: np.ndarray,
    config: WalkForwardConfig,
    *,
    progress: Callable[[str], object] | None = None,
) -> tuple[np.ndarray, list[dict]]:
    """Walk-forward scores float (T, N) (NaN outside the test periods) and one record per
    period (its dates, training samples and last training session)."""
    complete = complete_windows(panel)
    scores = np.full(panel.shape, np.nan)
    rng = np.random.default_rng(config.seed)
    folds = []
    for first, stop in retrain_periods(panel.sessions, config):
        t, n = training_cells(complete, y, first, config.purge)
        if len(t) == 0 or np.unique(y[t, n]).size < 2:
            raise ValueError(f"no training samples of both classes before {panel.sessions[first].date()}")
        available = len(t)
        if len(t) > config.max_train_samples:
            keep = np.sort(rng.choice(len(t), size=config.max_train_samples, replace=False))
            t, n = t[keep], n[keep]
        started = time.perf_counter()
        # one OpenMP thread: on the shared 2-core machine two threads spin-wait for each other
        # (predictions.learners.base.PARALLEL_MIN_ROWS); set config.threads to use more
        with threadpool_limits(limits=config.threads, user_api="openmp"):
            model = _fit_gbm(features[t, n], y[t, n], config)
            cells = np.zeros(panel.shape, dtype=bool)
            cells[first:stop] = complete[first:stop]
            if cells.any():
                scores[cells] = model.predict_proba(features[cells])[:, 1]
        folds.append(
            {
                "test_first": str(panel.sessions[first].date()),
                "test_last": str(panel.sessions[stop - 1].date()),
                "train_last_session": str(panel.sessions[int(t.max())].date()),
                "train_samples_available": int(available),
                "train_samples": int(len(t)),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
        if progress:
            progress(
                f"{folds[-1]['test_first']}..{folds[-1]['test_last']}: trained on {len(t):,} of {available:,} "
                f"samples up to {folds[-1]['train_last_session']} in {folds[-1]['seconds']} s"
            )
    return scores, folds


def session_deciles(scores: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """int (T, N): 1 .. 10 score decile of each cell within its session among ``cells``
    (0 outside them)."""
    ranks = pd.DataFrame(np.where(cells, scores, np.nan)).rank(axis=1, pct=True, method="first").to_numpy()
    out = np.zeros(scores.shape, dtype=np.int8)
    valid = ~np.isnan(ranks)
    out[valid] = np.ceil(ranks[valid] * 10).clip(1, 10).astype(np.int8)
    return out


def round_trip_cost_pct(sell_day: date) -> float:
    """Percent of the traded value a buy and its sell cost: commission and slippage on both
    sides plus the KRX sell tax of ``sell_day``."""
    return 2 * COMMISSION_PCT + 2 * SLIPPAGE_PCT + krx_sell_tax_pct(sell_day)


def weekly_portfolio(
    sessions: pd.DatetimeIndex, returns: np.ndarray, deciles: np.ndarray, rows: np.ndarray
) -> dict | None:
    """The weekly long-only top decile net of costs and the long-short top minus bottom
    (before costs) over the period ``rows`` (bool, T), rebalanced every 5th session from the
    first one whose exit lies inside the panel.

    Returns {"weeks", "top_net_mean", "universe_mean", "excess_mean", "top_net_compound",
    "universe_compound", "excess_compound", "beats_universe", "excess_sharpe",
    "long_short_mean", "long_short_sharpe", "cost_pct_mean"} (weekly figures are fractions per
    week; Sharpe annualised by sqrt(52)); None when there is no week.
    """
    period = np.flatnonzero(rows)
    weeks = [t for t in period[::HORIZON] if t + HORIZON < len(sessions)]
    top, universe, long_short, costs = [], [], [], []
    for t in weeks:
        known = ~np.isnan(returns[t])
        top_cells, bottom_cells = known & (deciles[t] == 10), known & (deciles[t] == 1)
        if not top_cells.any() or not bottom_cells.any():
            continue
        cost = round_trip_cost_pct(sessions[t + HORIZON].date()) / 100
        top.append(returns[t][top_cells].mean() - cost)
        universe.append(returns[t][known].mean())
        long_short.append(returns[t][top_cells].mean() - returns[t][bottom_cells].mean())
        costs.append(cost)
    if not top:
        return None
    top_a, uni_a, ls_a = np.array(top), np.array(universe), np.array(long_short)
    excess = top_a - uni_a

    def sharpe(x: np.ndarray) -> float | None:
        sd = x.std(ddof=1) if len(x) > 1 else 0.0
        return float(x.mean() / sd * np.sqrt(WEEKS_PER_YEAR)) if sd > 0 else None

    top_c, uni_c = float(np.prod(1 + top_a) - 1), float(np.prod(1 + uni_a) - 1)
    return {
        "weeks": len(top_a),
        "top_net_mean": float(top_a.mean()),
        "universe_mean": float(uni_a.mean()),
        "excess_mean": float(excess.mean()),
        "top_net_compound": top_c,
        "universe_compound": uni_c,
        "excess_compound": top_c - uni_c,
        "beats_universe": top_c > uni_c,
        "excess_sharpe": sharpe(excess),
        "long_short_mean": float(ls_a.mean()),
        "long_short_sharpe": sharpe(ls_a),
        "cost_pct_mean": float(np.mean(costs) * 100),
    }


def score_figures(
    sessions: pd.DatetimeIndex,
    scores: np.ndarray,
    y: np.ndarray,
    returns: np.ndarray,
    rows: np.ndarray,
    *,
    probabilities: bool,
    top_n: int = 20,
    calibration: bool = False,
) -> dict:
    """The figures of one scorer on the sessions ``rows`` (bool, T); see the module docstring."""
    scored = ~np.isnan(scores) & rows[:, None]
    labelled = scored & ~np.isnan(y)
    t, n = np.nonzero(labelled)
    s, yy = scores[t, n], y[t, n].astype(int)
    traded = scored & ~np.isnan(returns)
    deciles = session_deciles(scores, traded)
    table = [
        {"decile": d, "mean_return_5": float(returns[deciles == d].mean()) if (deciles == d).any() else None}
        for d in range(1, 11)
    ]
    top, bottom = table[-1]["mean_return_5"], table[0]["mean_return_5"]
    out = {
        "samples": int(len(yy)),
        "base_rate": float(yy.mean()) if len(yy) else None,
        "auc": auc(s, yy),
        "auc_session_mean": auc_session_mean(s, yy, t),
        f"precision_at_{top_n}": precision_at_n(s, yy.astype(bool), t, n=top_n),
        "accuracy": float(((s >= 0.5) == (yy == 1)).mean()) if probabilities and len(yy) else None,
        "deciles": table,
        "top_minus_bottom": top - bottom if top is not None and bottom is not None else None,
        "weekly": weekly_portfolio(sessions, returns, deciles, rows),
    }
    if calibration:
        out["calibration"] = calibration_table(s, yy.astype(float))
    return out


def walk_forward(
    panel: Panel,
    config: WalkForwardConfig,
    *,
    labels: tuple[str, ...] = LABELS,
    progress: Callable[[str], object] | None = None,
    features: np.ndarray | None = None,
) -> dict:
    """The whole evaluation as a JSON-ready dict: {"config", "panel", "labels": {label:
    {"folds", "years": {year: {scorer: figures}}, "pooled": {scorer: figures}}}, "seconds"}.
    Scorers: "model", "momentum_20", "reversal_5". Raises ``ValueError`` when a period has no
    training samples of both classes."""
    started = time.perf_counter()
    say = progress or (lambda text: None)
    if features is None:
        say(f"features of {panel.shape[0]:,} sessions x {panel.shape[1]:,} stocks")
        features = compute_features(panel, window=WINDOW)
    returns = forward_returns(panel)
    baselines = {"momentum_20": momentum_scores(panel), "reversal_5": reversal_scores(panel)}
    years = panel.sessions.year.to_numpy()
    result: dict = {
        "config": asdict(config),
        "panel": {
            "sessions": int(panel.shape[0]),
            "stocks": int(panel.shape[1]),
            "first_session": str(panel.sessions[0].date()),
            "last_session": str(panel.sessions[-1].date()),
        },
        "costs": {
            "commission_pct_per_side": COMMISSION_PCT,
            "slippage_pct_per_side": SLIPPAGE_PCT,
            "sell_tax": "KRX sell tax of the sell date (predictions.backtest.krx_sell_tax_pct)",
            "turnover": "whole top decile bought and sold every week",
        },
        "labels": {},
    }
    for label in labels:
        say(f"label {label}")
        y = label_array(returns, label)
        scores, folds = model_scores(panel, features, y, config, progress=say)
        scorers = {"model": scores, **baselines}
        per_year = {}
        for year in range(config.first_test_year, config.last_test_year + 1):
            rows = years == year
            per_year[str(year)] = {
                name: score_figures(
                    panel.sessions, s, y, returns, rows, probabilities=name == "model", top_n=config.top_n
                )
                for name, s in scorers.items()
            }
        pooled_rows = (years >= config.first_test_year) & (years <= config.last_test_year)
        pooled = {
            name: score_figures(
                panel.sessions,
                s,
                y,
                returns,
                pooled_rows,
                probabilities=name == "model",
                top_n=config.top_n,
                calibration=name == "model",
            )
            for name, s in scorers.items()
        }
        result["labels"][label] = {"folds": folds, "years": per_year, "pooled": pooled}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
