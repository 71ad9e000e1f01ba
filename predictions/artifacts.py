"""Where a predictor's model lives and how it is loaded: files under
``PREDICTIONS["ARTIFACT_DIR"]``, checked against the SHA-256 its ``Predictor`` row recorded.

Selectors (scoring stored predictors) and services (training, the daily job) both load models
from here, so selectors import no services.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings

from core.exceptions import DomainError
from predictions.learners import load_model
from predictions.models import Predictor

__all__ = ["PredictorUnavailable", "artifact_dir", "load_predictor_model"]


class PredictorUnavailable(DomainError):
    """409: the predictor's artifact is gone or altered, or its kind needs PyTorch."""

    code = "predictor_unavailable"
    status_code = 409


def artifact_dir() -> Path:
    path = Path(settings.PREDICTIONS["ARTIFACT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@lru_cache(maxsize=8)
def _cached_model(kind: str, path: str, sha256: str):
    return load_model(kind, Path(path), sha256=sha256)


def load_predictor_model(predictor: Predictor):
    """The predictor's model, loaded from its artifact (checked against its SHA-256, cached
    per process). Raises ``PredictorUnavailable`` when the file is gone or altered, or the model
    needs PyTorch and it is not installed."""
    path = artifact_dir() / predictor.artifact
    try:
        return _cached_model(predictor.kind, str(path), predictor.artifact_sha256)
    except FileNotFoundError:
        raise PredictorUnavailable(
            f"the artifact of {predictor.name} ({predictor.artifact}) is missing", field="model"
        ) from None
    except ImportError:
        raise PredictorUnavailable(
            f"{predictor.name} is a CNN and needs PyTorch (pip install torch==2.13.0)", field="model"
        ) from None
    except ValueError as exc:
        raise PredictorUnavailable(str(exc), field="model") from None
