"""The up/down learners and their artifacts. No Django.

A learner turns a ``Panel`` into the probability that each stock closes "up" (close[t+5] >=
1.04 * close[t]) for each session t. Two kinds:

* ``gbm`` (default): scikit-learn's histogram gradient boosting on the 20-session features of
  ``predictions.features``.
* ``cnn``: the prototype's idea, a small convolutional network on 20-candle chart images drawn
  in memory (``predictions.cnn``); needs PyTorch, an optional dependency, imported lazily.

Both train the same way: samples are the labelled (up or down) stock-sessions t with
train_start <= t and t + horizon <= train_end, so no price after ``train_end`` is read. Model
choices (boosting rounds, CNN epochs) are made on a walk-forward validation split inside that
period: the last ``validation_fraction`` of its sessions, with a ``horizon``-session gap before
it so that no training label overlaps a validation label. The validation figures are kept in the
artifact's metadata under that name; results are only ever the out-of-sample figures of
``predictions.evaluation`` on a later period.

Artifacts are files under the directory the caller gives, with their SHA-256 recorded by the
caller: ``load_model`` refuses a file whose digest differs (a pickle is code).
"""

from __future__ import annotations

import hashlib
import platform
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from predictions.evaluation import auc, precision_at_n
from predictions.features import (
    FEATURE_NAMES,
    HORIZON,
    UP_THRESHOLD,
    WINDOW,
    Panel,
    complete_windows,
    compute_features,
    forward_labels,
)

KINDS = ("gbm", "cnn")


class UpModel(Protocol):
    kind: str
    window: int
    horizon: int
    up_threshold: float
    feature_names: list[str]

    def score_panel(self, panel: Panel, rows: np.ndarray | None = None) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


@dataclass
class TrainingReport:
    """What training did, for the artifact's metadata. ``validation``: figures on the
    walk-forward validation split inside the training period (model selection, not a result)."""

    samples: int
    up_rate: float
    sessions: int
    first_session: str
    last_session: str
    params: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)


def training_samples(panel: Panel, first: int, last: int, *, horizon: int, up_threshold: float):
    """Labelled samples of sessions ``first`` .. ``last`` (panel rows, inclusive) whose label is
    known inside the panel: returns (t rows, n columns, y float 0/1), session order.

    Callers pass ``last`` = (row of train_end) - horizon so that labels end by train_end.
    """
    labels = forward_labels(panel, horizon=horizon, up_threshold=up_threshold)
    mask = labels.labelled & complete_windows(panel)
    mask[:first] = False
    mask[last + 1 :] = False
    t, n = np.nonzero(mask)
    return t, n, labels.up[t, n].astype(np.float64)


def walk_forward_split(t: np.ndarray, *, validation_fraction: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """bool masks (fit, validation) over samples with session rows ``t``.

    Validation = samples of the last ``validation_fraction`` of the distinct sessions; fit =
    samples at least ``horizon`` sessions before the first validation session, so that no fit
    label (which looks ``horizon`` sessions ahead) reaches into validation. Raises ``ValueError``
    when either part would be empty.
    """
    sessions = np.unique(t)
    cut_at = int(len(sessions) * (1 - validation_fraction))
    if not 0 < cut_at < len(sessions):
        raise ValueError(f"{len(sessions)} training sessions are too few for a validation split")
    cut = sessions[cut_at]
    fit, validation = t < cut - horizon, t >= cut
    if not fit.any() or not validation.any():
        raise ValueError("the training period is too short for a walk-forward validation split")
    return fit, validation


def library_versions() -> dict[str, str]:
    """Versions of the libraries an artifact depends on (torch when installed)."""
    import joblib
    import pandas
    import sklearn

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pandas.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }
    try:
        import torch
    except ImportError:
        pass
    else:
        versions["torch"] = torch.__version__
    return versions


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _model_class(kind: str):
    if kind == "gbm":
        return GradientBoostingUpModel
    if kind == "cnn":
        from predictions.cnn import ChartCnnUpModel  # imports torch only when used

        return ChartCnnUpModel
    raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")


def train_model(kind: str, panel: Panel, first: int, last: int, **options) -> tuple[UpModel, TrainingReport]:
    """Train a ``kind`` model on the samples of sessions ``first`` .. ``last`` (panel rows).

    Raises ``ValueError`` (too few samples, unknown kind) and ``ImportError`` for ``cnn``
    without PyTorch.
    """
    return _model_class(kind).fit(panel, first, last, **options)


def load_model(kind: str, path: Path, *, sha256: str | None = None) -> UpModel:
    """The model stored at ``path``. Raises ``ValueError`` when the file's SHA-256 is not
    ``sha256``, ``FileNotFoundError`` when it is gone."""
    path = Path(path)
    if sha256 is not None and file_sha256(path) != sha256:
        raise ValueError(f"{path.name}: SHA-256 differs from the recorded one; refusing to load it")
    return _model_class(kind).load(path)


# -- gradient boosting ----------------------------------------------------------------------------


GBM_PARAMS = {
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    # daily returns are mostly noise: large leaves and an L2 penalty keep the trees from
    # memorising single stock-days
    "min_samples_leaf": 200,
    "l2_regularization": 1.0,
    "max_iter": 300,
}


# Below this many rows, scikit-learn's OpenMP threads cost more than they save: on the 2-core
# machine, 30 boosting rounds on 6,000 samples take 0.5 s on one thread and 3 to 28 s on two
# when other processes compete for the cores (the threads spin-wait for each other).
PARALLEL_MIN_ROWS = 100_000


@contextmanager
def _threads_for(rows: int):
    if rows >= PARALLEL_MIN_ROWS:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


class GradientBoostingUpModel:
    """scikit-learn ``HistGradientBoostingClassifier`` on ``FEATURE_NAMES`` (it takes NaN
    features as they are)."""

    kind = "gbm"

    def __init__(
        self,
        estimator,
        *,
        window: int = WINDOW,
        horizon: int = HORIZON,
        up_threshold: float = UP_THRESHOLD,
        feature_names: list[str] | None = None,
    ):
        self.estimator = estimator
        self.window, self.horizon, self.up_threshold = window, horizon, up_threshold
        self.feature_names = list(feature_names or FEATURE_NAMES)

    @classmethod
    def fit(
        cls,
        panel: Panel,
        first: int,
        last: int,
        *,
        horizon: int = HORIZON,
        up_threshold: float = UP_THRESHOLD,
        validation_fraction: float = 0.2,
        random_state: int = 0,
        progress=None,
        **params,
    ):
        """Train on the labelled samples of panel rows ``first`` .. ``last``.

        The number of boosting rounds is the one with the lowest log loss on the walk-forward
        validation split; the model is then refit on all samples with it.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.metrics import log_loss

        params = {**GBM_PARAMS, **params}
        t, n, y = training_samples(panel, first, last, horizon=horizon, up_threshold=up_threshold)
        if len(y) == 0 or y.min() == y.max():
            raise ValueError(f"{len(y)} labelled samples with one class only: nothing to learn")
        features = compute_features(panel)
        x = features[t, n]
        fit, validation = walk_forward_split(t, validation_fraction=validation_fraction, horizon=horizon)

        def estimator(rounds: int):
            return HistGradientBoostingClassifier(
                **{**params, "max_iter": rounds}, early_stopping=False, random_state=random_state
            )

        with _threads_for(len(y)):
            probe = estimator(params["max_iter"]).fit(x[fit], y[fit])
            best, best_loss, p_val = 0, np.inf, None
            for rounds, proba in enumerate(probe.staged_predict_proba(x[validation]), start=1):
                loss = log_loss(y[validation], proba[:, 1], labels=[0, 1])
                if loss < best_loss:
                    best, best_loss, p_val = rounds, loss, proba[:, 1].copy()
            if progress:
                progress(f"validation: best {best} of {params['max_iter']} rounds, log loss {best_loss:.4f}")
            final = estimator(max(best, 10)).fit(x, y)
        report = TrainingReport(
            samples=len(y),
            up_rate=float(y.mean()),
            sessions=len(np.unique(t)),
            first_session=str(panel.sessions[t.min()].date()),
            last_session=str(panel.sessions[t.max()].date()),
            params={**params, "max_iter": max(best, 10), "random_state": random_state},
            validation=_validation_figures(
                p_val,
                y[validation],
                t[validation],
                panel,
                extra={
                    "fit_samples": int(fit.sum()),
                    "log_loss": float(best_loss),
                    "rounds_tried": params["max_iter"],
                },
            ),
        )
        return cls(final, horizon=horizon, up_threshold=up_threshold), report

    def score_panel(self, panel: Panel, rows: np.ndarray | None = None) -> np.ndarray:
        """Probability of up, float (T, N), for the sessions where ``rows`` (bool, T) is true
        (all by default); NaN where a stock has no complete 20-session window."""
        features = compute_features(panel, window=self.window)
        mask = complete_windows(panel, self.window)
        if rows is not None:
            mask &= rows[:, None]
        out = np.full(panel.shape, np.nan)
        if mask.any():
            with _threads_for(int(mask.sum())):
                out[mask] = self.estimator.predict_proba(features[mask])[:, 1]
        return out

    def save(self, path: Path) -> None:
        import joblib

        joblib.dump(
            {
                "kind": self.kind,
                "estimator": self.estimator,
                "window": self.window,
                "horizon": self.horizon,
                "up_threshold": self.up_threshold,
                "feature_names": self.feature_names,
            },
            path,
        )

    @classmethod
    def load(cls, path: Path):
        import joblib

        state = joblib.load(path)
        if state.get("kind") != cls.kind:
            raise ValueError(f"{Path(path).name} holds a {state.get('kind')!r} model, not {cls.kind!r}")
        if tuple(state["feature_names"]) != FEATURE_NAMES:
            raise ValueError(f"{Path(path).name} was trained on another feature set; retrain it")
        return cls(
            state["estimator"],
            window=state["window"],
            horizon=state["horizon"],
            up_threshold=state["up_threshold"],
            feature_names=state["feature_names"],
        )


def _validation_figures(p: np.ndarray, y: np.ndarray, t: np.ndarray, panel: Panel, *, extra: dict) -> dict:
    return {
        "what": "walk-forward validation split inside the training period (model selection only)",
        "first_session": str(panel.sessions[t.min()].date()),
        "last_session": str(panel.sessions[t.max()].date()),
        "samples": len(y),
        "base_rate": float(y.mean()),
        "auc": auc(p, y),
        "precision_at_20": precision_at_n(p, y.astype(bool), t, n=20),
        **extra,
    }
