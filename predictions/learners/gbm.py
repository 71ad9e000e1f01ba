"""``gbm``: scikit-learn's histogram gradient boosting on the 20-session features of
``predictions.features`` (the default learner). No Django."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from predictions.features import FEATURE_NAMES, HORIZON, UP_THRESHOLD, WINDOW, Panel, complete_windows, compute_features
from predictions.learners.base import (
    TrainingReport,
    threads_for,
    training_samples,
    validation_figures,
    walk_forward_split,
)

GBM_PARAMS = {
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    # daily returns are mostly noise: large leaves and an L2 penalty keep the trees from
    # memorising single stock-days
    "min_samples_leaf": 200,
    "l2_regularization": 1.0,
    "max_iter": 300,
}


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

        with threads_for(len(y)):
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
            validation=validation_figures(
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
            with threads_for(int(mask.sum())):
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
