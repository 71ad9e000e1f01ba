"""Out-of-sample figures of up/down scores: precision at N, AUC, calibration. No Django.

Every figure here is meant for a test period the model never saw (``evaluate_panel`` is given
the sessions to score; the callers check they lie after the training period). Definitions:

* samples: labelled stock-sessions (up or down; the in-between is left out, as in training).
* base rate: share of up among them.
* precision at N: per session, the N highest-scored labelled stocks; the share of up among
  them; averaged over sessions (a session with fewer than N labelled stocks counts them all).
* AUC: ROC AUC of the scores against up (1) / down (0), pooled over the test sessions; also
  the mean of the per-session AUCs (ranking within a day, what a top-N pick relies on).
* calibration: the samples cut into score deciles; mean score against the observed up rate.
* all picks: the same top N per session taken from every stock with a known outcome, the
  in-between counting as a miss: what a user buying the discover list would have seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictions.features import Labels, Panel, complete_windows

TOP_N = 20


def precision_at_n(scores: np.ndarray, hits: np.ndarray, session: np.ndarray, *, n: int = TOP_N) -> float | None:
    """Mean over sessions of the hit share among the ``n`` highest scores of each session.

    ``scores`` float (k,), ``hits`` bool (k,), ``session`` int (k,) session ids; ties broken by
    input order. Returns None when there are no samples.
    """
    if len(scores) == 0:
        return None
    order = np.lexsort((np.arange(len(scores)), -scores, session))
    s_sorted = session[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s_sorted)) + 1]
    position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    top = order[position < n]
    per_session = pd.Series(hits[top].astype(float)).groupby(session[top]).mean()
    return float(per_session.mean())


def auc(scores: np.ndarray, y: np.ndarray) -> float | None:
    """ROC AUC of ``scores`` against binary ``y`` (1 = up); None with one class only."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    if len(y) == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, scores))


def auc_session_mean(scores: np.ndarray, y: np.ndarray, session: np.ndarray) -> float | None:
    """Mean over sessions of the AUC among that session's stocks: how well the scores order
    the stocks of one day, which is what a top-N pick uses (pooled AUC also rewards telling
    good days from bad ones). Sessions with one class only are left out."""
    values = [auc(scores[session == s], y[session == s]) for s in np.unique(session)]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def calibration_table(scores: np.ndarray, y: np.ndarray, *, bins: int = 10) -> list[dict]:
    """Score deciles (fewer when scores repeat): per bin the count, score range, mean score and
    observed up rate, lowest scores first."""
    if len(scores) == 0:
        return []
    groups = pd.qcut(pd.Series(scores), q=bins, labels=False, duplicates="drop")
    frame = pd.DataFrame({"bin": groups, "score": scores, "y": y})
    table = frame.groupby("bin").agg(
        count=("y", "size"),
        score_min=("score", "min"),
        score_max=("score", "max"),
        mean_score=("score", "mean"),
        up_rate=("y", "mean"),
    )
    return [
        {
            "bin": int(b) + 1,
            "count": int(r["count"]),
            "score_min": float(r.score_min),
            "score_max": float(r.score_max),
            "mean_score": float(r.mean_score),
            "up_rate": float(r.up_rate),
        }
        for b, r in table.iterrows()
    ]


def momentum_scores(panel: Panel) -> np.ndarray:
    """The naive baseline, float (T, N): each stock's percentile rank (0, 1] within its session
    by 20-session momentum log(close[t] / close[t-19]); NaN without a complete window."""
    complete = complete_windows(panel)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_c = np.log(panel.close)
    momentum = np.full(panel.shape, np.nan)
    momentum[19:] = log_c[19:] - log_c[:-19]
    return pd.DataFrame(np.where(complete, momentum, np.nan)).rank(axis=1, pct=True).to_numpy(copy=True)


def evaluate_scores(scores: np.ndarray, labels: Labels, rows: np.ndarray, *, n: int = TOP_N, bins: int = 10) -> dict:
    """Figures of ``scores`` float (T, N) on the sessions where ``rows`` (bool, T) is true.

    Returns {"sessions", "samples", "base_rate", "precision_at_20", "auc", "auc_session_mean", "calibration",
    "all_picks": {"scored", "up_rate", "precision_at_20"}} (the key says ``n``); None where a
    figure is undefined (no samples, one class).
    """
    scored = ~np.isnan(scores) & rows[:, None]
    labelled = scored & labels.labelled
    t, k = np.nonzero(labelled)
    s, y = scores[t, k], labels.up[t, k]
    known = scored & labels.known
    tk, kk = np.nonzero(known)
    key = f"precision_at_{n}"
    return {
        "sessions": int(len(np.unique(t))),
        "samples": int(len(y)),
        "base_rate": float(y.mean()) if len(y) else None,
        key: precision_at_n(s, y, t, n=n),
        "auc": auc(s, y.astype(int)),
        "auc_session_mean": auc_session_mean(s, y.astype(int), t),
        "calibration": calibration_table(s, y.astype(float), bins=bins),
        "all_picks": {
            "scored": int(len(tk)),
            "up_rate": float(labels.up[tk, kk].mean()) if len(tk) else None,
            key: precision_at_n(scores[tk, kk], labels.up[tk, kk], tk, n=n),
        },
    }
