"""The gradient-boosting learner on the real top-50 slice: walk-forward split, no look-ahead,
artifacts that load back to the same model."""

from datetime import date

import numpy as np
import pytest

from predictions.features import Panel, complete_windows
from predictions.learners import file_sha256, load_model, train_model, walk_forward_split

FAST = {"max_iter": 20}


def _rows(panel, start, train_end):
    return panel.session_index(start), panel.session_index(train_end) - 5


def test_walk_forward_split_validates_on_the_last_sessions_after_a_horizon_gap():
    t = np.repeat(np.arange(100), 3)

    fit, validation = walk_forward_split(t, validation_fraction=0.2, horizon=5)

    assert t[validation].min() == 80 and t[validation].max() == 99
    assert t[fit].max() == 74  # labels of 74 end at 79, before validation starts
    with pytest.raises(ValueError, match="too few"):
        walk_forward_split(np.array([1, 1]), validation_fraction=0.2, horizon=5)


def test_gbm_scores_every_complete_window_of_the_requested_sessions(top50_panel):
    first, last = _rows(top50_panel, date(2024, 1, 2), date(2024, 9, 30))
    model, report = train_model("gbm", top50_panel, first, last, **FAST)
    rows = np.zeros(len(top50_panel.sessions), dtype=bool)
    rows[top50_panel.session_index(date(2024, 10, 2)) :] = True

    p = model.score_panel(top50_panel, rows)

    assert np.array_equal(~np.isnan(p), complete_windows(top50_panel) & rows[:, None])
    assert np.nanmin(p) > 0 and np.nanmax(p) < 1
    assert report.last_session == "2024-09-23"  # + 5 sessions = 2024-09-30, the train end
    assert report.validation["what"].startswith("walk-forward validation")


def test_training_reads_no_price_after_the_training_period(top50_panel):
    first, last = _rows(top50_panel, date(2024, 1, 2), date(2024, 9, 30))
    end = top50_panel.session_index(date(2024, 9, 30))
    later = {name: getattr(top50_panel, name).copy() for name in ("open", "high", "low", "close", "volume")}
    for name in later:
        later[name][end + 1 :] *= 0.5
    perturbed = Panel(top50_panel.sessions, top50_panel.codes, **later)

    model_a, _ = train_model("gbm", top50_panel, first, last, **FAST)
    model_b, _ = train_model("gbm", perturbed, first, last, **FAST)

    rows = np.ones(len(top50_panel.sessions), dtype=bool)
    assert np.array_equal(
        model_a.score_panel(top50_panel, rows), model_b.score_panel(top50_panel, rows), equal_nan=True
    )


def test_a_saved_gbm_loads_back_to_the_same_scores_and_a_changed_file_is_refused(top50_panel, tmp_path):
    model, _ = train_model("gbm", top50_panel, *_rows(top50_panel, date(2024, 1, 2), date(2024, 9, 30)), **FAST)
    path = tmp_path / "gbm.joblib"
    model.save(path)
    digest = file_sha256(path)

    loaded = load_model("gbm", path, sha256=digest)

    assert np.array_equal(loaded.score_panel(top50_panel), model.score_panel(top50_panel), equal_nan=True)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ValueError, match="SHA-256 differs"):
        load_model("gbm", path, sha256=digest)


def test_one_class_only_is_nothing_to_learn(top50_panel):
    # 2024-01-02 .. 2024-01-10 holds too few sessions for a walk-forward split
    with pytest.raises(ValueError):
        train_model("gbm", top50_panel, *_rows(top50_panel, date(2024, 1, 2), date(2024, 1, 10)), **FAST)
