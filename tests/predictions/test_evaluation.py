"""Out-of-sample metrics: precision at N per session, AUC, calibration, the momentum baseline."""

from datetime import date

import numpy as np
import pytest

from predictions.evaluation import (
    auc,
    auc_session_mean,
    calibration_table,
    evaluate_scores,
    momentum_scores,
    precision_at_n,
)
from predictions.features import forward_labels
from predictions.sessions import sessions_between


def test_precision_at_n_takes_the_top_n_of_each_session_and_averages_over_sessions():
    scores = np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.5, 0.4])
    hits = np.array([True, False, True, True, True, False, True])
    session = np.array([1, 1, 1, 2, 2, 2, 2])

    # session 1: top 2 = 0.9 hit, 0.8 miss -> 1/2; session 2: 0.7 hit, 0.6 hit -> 1
    assert precision_at_n(scores, hits, session, n=2) == pytest.approx(0.75)
    # a session with fewer samples than n counts them all
    assert precision_at_n(scores, hits, session, n=4) == pytest.approx((2 / 3 + 3 / 4) / 2)


def test_auc_is_none_with_one_class_and_the_session_mean_leaves_such_sessions_out():
    assert auc(np.array([0.2, 0.4]), np.array([1, 1])) is None
    scores = np.array([0.1, 0.9, 0.3, 0.2, 0.5])
    y = np.array([0, 1, 1, 0, 0])
    session = np.array([1, 1, 2, 2, 3])

    assert auc(scores, y) == pytest.approx(5 / 6)
    assert auc_session_mean(scores, y, session) == pytest.approx(1.0)


def test_calibration_deciles_cover_every_sample_lowest_scores_first():
    rng = np.random.default_rng(0)
    scores = rng.random(1000)
    y = (rng.random(1000) < scores).astype(float)

    table = calibration_table(scores, y)

    assert [row["bin"] for row in table] == list(range(1, 11))
    assert sum(row["count"] for row in table) == 1000
    assert table[0]["up_rate"] < table[-1]["up_rate"]


def test_momentum_baseline_ranks_the_20_session_return_within_each_session(top50_panel):
    t = top50_panel.session_index(date(2025, 3, 4))
    closes = top50_panel.close

    ranks = momentum_scores(top50_panel)[t]

    momentum = closes[t] / closes[t - 19]
    assert np.argmax(ranks) == np.argmax(momentum) and ranks.max() == 1.0
    assert np.argmin(ranks) == np.argmin(momentum)


def test_evaluate_counts_labelled_samples_of_the_test_sessions_only(top50_panel):
    labels = forward_labels(top50_panel)
    rows = np.zeros(len(top50_panel.sessions), dtype=bool)
    rows[top50_panel.session_index(date(2025, 1, 2)) :] = True

    figures = evaluate_scores(momentum_scores(top50_panel), labels, rows)

    expected = (labels.labelled & rows[:, None]).sum()
    assert figures["samples"] == expected
    assert figures["base_rate"] == pytest.approx((labels.up & rows[:, None]).sum() / expected)
    # 2025-01-02 .. 2025-06-10: the last 5 recorded sessions have no label yet
    assert figures["sessions"] == len(sessions_between(date(2025, 1, 2), date(2025, 6, 10))) == 104
    assert 0 <= figures["precision_at_20"] <= 1 and 0 < figures["auc"] < 1
