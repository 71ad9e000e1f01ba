"""What every learner shares: the model protocol, the training report, the training samples
and the walk-forward validation split, artifact digests and library versions. No Django.

Training reads the labelled (up or down) stock-sessions t with train_start <= t and t + horizon
<= train_end, so no price after ``train_end`` is read. Model choices (boosting rounds, CNN
epochs) are made on a walk-forward validation split inside that period: the last
``validation_fraction`` of its sessions, with a ``horizon``-session gap before it so that no
training label overlaps a validation label (``walk_forward_split``); its figures are kept in the
artifact's metadata under that name (``validation_figures``), never reported as results.
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
    Panel,
    complete_windows,
    forward_labels,
)


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


# Below this many rows, scikit-learn's OpenMP threads cost more than they save: on the 2-core
# machine, 30 boosting rounds on 6,000 samples take 0.5 s on one thread and 3 to 28 s on two
# when other processes compete for the cores (the threads spin-wait for each other).
PARALLEL_MIN_ROWS = 100_000


@contextmanager
def threads_for(rows: int):
    if rows >= PARALLEL_MIN_ROWS:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def validation_figures(p: np.ndarray, y: np.ndarray, t: np.ndarray, panel: Panel, *, extra: dict) -> dict:
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
