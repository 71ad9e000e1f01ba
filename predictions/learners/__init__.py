"""The up/down learners and their artifacts. No Django.

A learner turns a ``Panel`` into the probability that each stock closes "up" (close[t+5] >=
1.04 * close[t]) for each session t. Two kinds:

* ``gbm`` (default): scikit-learn's histogram gradient boosting on the 20-session features of
  ``predictions.features``.
* ``cnn``: the prototype's idea, a small convolutional network on 20-candle chart images drawn
  in memory (``predictions.learners.cnn``); needs PyTorch, an optional dependency, imported lazily.

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

from pathlib import Path

from predictions.features import Panel
from predictions.learners.base import (
    PARALLEL_MIN_ROWS,
    TrainingReport,
    UpModel,
    file_sha256,
    library_versions,
    training_samples,
    walk_forward_split,
)
from predictions.learners.gbm import GBM_PARAMS, GradientBoostingUpModel

__all__ = [
    "GBM_PARAMS",
    "KINDS",
    "PARALLEL_MIN_ROWS",
    "GradientBoostingUpModel",
    "TrainingReport",
    "UpModel",
    "file_sha256",
    "library_versions",
    "load_model",
    "train_model",
    "training_samples",
    "walk_forward_split",
]

KINDS = ("gbm", "cnn")


def _model_class(kind: str):
    if kind == "gbm":
        return GradientBoostingUpModel
    if kind == "cnn":
        from predictions.learners.cnn import ChartCnnUpModel  # imports torch only when used

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
