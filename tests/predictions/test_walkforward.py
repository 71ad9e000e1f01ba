"""predictions.walkforward on the real recorded top-50 file (markets/data, 2023-12-05 .. 2025-06-17):
no look-ahead across the walk-forward boundaries, the purge, and the cost arithmetic against a
plain loop."""

from datetime import date

import numpy as np
import pytest

from predictions.backtest import krx_sell_tax_pct
from predictions.evaluation import momentum_scores
from predictions.features import HORIZON, Panel, complete_windows, compute_features
from predictions.walkforward import (
    WalkForwardConfig,
    forward_returns,
    label_array,
    model_scores,
    retrain_periods,
    round_trip_cost_pct,
    session_deciles,
    training_cells,
    walk_forward,
    weekly_portfolio,
)

FAST = {"max_iter": 10, "max_train_samples": 5_000}


def perturbed_after(panel: Panel, row: int, seed: int = 1) -> Panel:
    """The panel with every price and volume after ``row`` scaled by random factors."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name in ("open", "high", "low", "close", "volume"):
        x = getattr(panel, name).copy()
        x[row + 1 :] *= rng.uniform(0.5, 1.5, size=x[row + 1 :].shape)
        arrays[name] = x
    arrays["high"] = np.fmax.reduce([arrays[k] for k in ("open", "high", "low", "close")])
    arrays["low"] = np.fmin.reduce([arrays[k] for k in ("open", "high", "low", "close")])
    return Panel(panel.sessions, panel.codes, **arrays)


def test_perturbing_sessions_after_a_test_date_changes_no_score_on_or_before_it(top50_panel):
    config = WalkForwardConfig(first_test_year=2025, last_test_year=2025, retrain="monthly", **FAST)
    cut = top50_panel.session_index(date(2025, 3, 14))
    y = label_array(forward_returns(top50_panel), "sign")
    scores, folds = model_scores(top50_panel, compute_features(top50_panel), y, config)

    other = perturbed_after(top50_panel, cut)
    y_other = label_array(forward_returns(other), "sign")
    scores_other, _ = model_scores(other, compute_features(other), y_other, config)

    assert len(folds) == 6  # 2025-01 .. 2025-06, one model each
    assert np.isfinite(scores[: cut + 1]).sum() > 2000
    np.testing.assert_array_equal(scores[: cut + 1], scores_other[: cut + 1])
    assert not np.array_equal(scores[cut + 1 :], scores_other[cut + 1 :], equal_nan=True)  # the test can fail


def test_training_ends_the_purge_before_the_test_period(top50_panel):
    config = WalkForwardConfig(first_test_year=2025, last_test_year=2025, retrain="monthly", **FAST)
    complete = complete_windows(top50_panel)
    y = label_array(forward_returns(top50_panel), "prototype")

    for first, _stop in retrain_periods(top50_panel.sessions, config):
        t, _n = training_cells(complete, y, first, config.purge)
        # the last training label (t + 5) is the session before the test period, never inside it
        assert t.max() + HORIZON == first - 1
    _, folds = model_scores(top50_panel, compute_features(top50_panel), y, config)
    assert folds[0]["test_first"] == "2025-01-02" and folds[0]["train_last_session"] == "2024-12-20"
    with pytest.raises(ValueError, match="purge"):
        WalkForwardConfig(first_test_year=2025, last_test_year=2025, purge=2)


def test_labels_leave_the_middle_and_zero_returns_out():
    returns = np.array([[0.05, 0.04, 0.01, 0.0, -0.01, np.nan]])
    np.testing.assert_array_equal(label_array(returns, "prototype"), [[1, 1, np.nan, np.nan, 0, np.nan]])
    np.testing.assert_array_equal(label_array(returns, "sign"), [[1, 1, 1, np.nan, 0, np.nan]])


def test_round_trip_costs_use_the_sell_tax_of_the_sell_date():
    assert round_trip_cost_pct(date(2019, 5, 31)) == pytest.approx(0.03 + 0.20 + 0.30)
    assert round_trip_cost_pct(date(2019, 6, 3)) == pytest.approx(0.03 + 0.20 + 0.25)
    assert round_trip_cost_pct(date(2021, 6, 1)) == pytest.approx(0.03 + 0.20 + 0.23)
    assert krx_sell_tax_pct(date(2006, 1, 2)) == 0.30


def test_weekly_portfolio_equals_a_plain_loop_on_the_real_rows(top50_panel):
    panel = top50_panel
    scores, returns = momentum_scores(panel), forward_returns(panel)
    rows = panel.sessions.year == 2024
    traded = ~np.isnan(scores) & ~np.isnan(returns)

    figures = weekly_portfolio(panel.sessions, returns, session_deciles(scores, traded), rows)

    # the loop: every 5th session of 2024, rank the stocks by score, top and bottom tenth by count
    nets, universe, spreads, costs = [], [], [], []
    for t in np.flatnonzero(rows)[::5]:
        if t + 5 >= len(panel.sessions):
            continue
        cells = [j for j in range(panel.shape[1]) if traded[t, j]]
        order = sorted(cells, key=lambda j: (scores[t, j], j))  # ties by column, as rank(method="first")
        decile = {j: int(np.ceil((i + 1) / len(order) * 10)) for i, j in enumerate(order)}
        top = [returns[t, j] for j in cells if decile[j] == 10]
        bottom = [returns[t, j] for j in cells if decile[j] == 1]
        if not top or not bottom:  # the first sessions of the file have no complete window yet
            continue
        sell_day = panel.sessions[t + 5].date()
        cost = (0.015 + 0.10 + 0.015 + 0.10 + krx_sell_tax_pct(sell_day)) / 100
        costs.append(cost * 100)
        nets.append(sum(top) / len(top) - cost)
        universe.append(np.mean([returns[t, j] for j in range(panel.shape[1]) if not np.isnan(returns[t, j])]))
        spreads.append(sum(top) / len(top) - sum(bottom) / len(bottom))

    assert figures["weeks"] == len(nets) > 40
    assert figures["top_net_mean"] == pytest.approx(np.mean(nets))
    assert figures["universe_mean"] == pytest.approx(np.mean(universe))
    assert figures["top_net_compound"] == pytest.approx(np.prod(1 + np.array(nets)) - 1)
    assert figures["long_short_mean"] == pytest.approx(np.mean(spreads))
    assert figures["cost_pct_mean"] == pytest.approx(np.mean(costs)) and min(costs) == pytest.approx(0.23 + 0.15)


def test_walk_forward_reports_years_and_pooled_figures_for_both_labels_and_baselines(top50_panel):
    config = WalkForwardConfig(first_test_year=2025, last_test_year=2025, **FAST)

    result = walk_forward(top50_panel, config)

    for label in ("prototype", "sign"):
        block = result["labels"][label]
        assert set(block["years"]["2025"]) == {"model", "momentum_20", "reversal_5"}
        model = block["pooled"]["model"]
        assert model["samples"] == block["years"]["2025"]["model"]["samples"] > 1000
        assert 0 < model["auc"] < 1 and 0 <= model["accuracy"] <= 1 and len(model["deciles"]) == 10
        assert block["pooled"]["momentum_20"]["accuracy"] is None
        assert model["weekly"]["weeks"] >= 20 and "calibration" in model


@pytest.mark.django_db
def test_model_card_and_discover_show_the_newest_walk_forward_result(client, settings, tmp_path, top50_panel):
    import json

    settings.PREDICTIONS = {**settings.PREDICTIONS, "ARTIFACT_DIR": tmp_path}
    empty = client.get("/predictions/model/")
    assert empty.status_code == 200 and b"No walk-forward result yet" in empty.content

    result = walk_forward(top50_panel, WalkForwardConfig(first_test_year=2025, last_test_year=2025, **FAST))
    result.update(market="ALL", kind="gbm", source="test", created_at="2026-12-03T07:00:00+00:00", peak_rss_mb=1)
    (tmp_path / "walk_forward").mkdir()
    (tmp_path / "walk_forward" / "gbm-all-2025-2025-yearly.json").write_text(json.dumps(result))

    page = client.get("/predictions/model/").content.decode()
    auc = result["labels"]["sign"]["years"]["2025"]["model"]["auc"]
    assert "Survivorship bias" in page and "Label: prototype" in page and "Label: sign" in page
    assert f"{auc:.3f}" in page and "pooled" in page
    discover = client.get("/predictions/").content.decode()
    pooled = result["labels"]["prototype"]["pooled"]["model"]["auc"]
    assert "Walk-forward track record" in discover and f"AUC {pooled:.3f}" in discover
