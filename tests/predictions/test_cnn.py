"""The CNN on chart images: images are drawn from OHLC arrays in memory (numpy only); training
and scoring need PyTorch, an optional dependency, and skip without it."""

from datetime import date

import numpy as np
import pytest

from predictions.learners.cnn import HEIGHT, PRICE_ROWS, VOLUME_ROWS, WIDTH, chart_images, panel_images


def test_a_real_20_session_window_is_drawn_as_a_64_by_60_chart(top50_frame, top50_panel):
    n, t = top50_panel.codes.get_loc("005930"), top50_panel.session_index(date(2024, 12, 3))
    rows = top50_frame[(top50_frame.code == "005930") & (top50_frame.date <= "2024-12-03")].tail(20).reset_index()

    image = panel_images(top50_panel, np.array([t]), np.array([n]))[0]

    assert image.shape == (HEIGHT, WIDTH) == (64, 60) and image.dtype == np.uint8
    top_day, low_day = rows.high.idxmax(), rows.low.idxmin()
    assert image[0, 3 * top_day + 1] == 255  # the highest high touches the top row
    assert image[PRICE_ROWS - 1, 3 * low_day + 1] == 255  # the lowest low the bottom price row
    assert not image[PRICE_ROWS].any()  # the blank row between prices and volume
    busiest = rows.volume.idxmax()
    assert image[PRICE_ROWS + 1 :, 3 * busiest + 1].all()  # the largest volume fills the volume rows
    assert image[HEIGHT - VOLUME_ROWS :, 3 * busiest].sum() == 0  # volume bars sit in the middle column only
    # 2024-12-03 closed at 53,600 with open 53,100: its close tick is above its open tick
    assert np.flatnonzero(image[:PRICE_ROWS, 3 * 19 + 2])[0] < np.flatnonzero(image[:PRICE_ROWS, 3 * 19])[0]


def test_incomplete_windows_are_not_drawn():
    with pytest.raises(ValueError, match="complete windows"):
        chart_images(*(np.full((1, 20), np.nan),) * 5)


def test_the_cnn_trains_scores_and_loads_back(top50_panel, tmp_path):
    pytest.importorskip("torch")
    from predictions.learners import load_model, train_model

    first, last = top50_panel.session_index(date(2024, 1, 2)), top50_panel.session_index(date(2024, 9, 30)) - 5
    model, report = train_model("cnn", top50_panel, first, last, epochs=1, max_samples=800)
    rows = np.zeros(len(top50_panel.sessions), dtype=bool)
    rows[-30:] = True

    p = model.score_panel(top50_panel, rows)
    path = tmp_path / "cnn.pt"
    model.save(path)

    assert np.count_nonzero(~np.isnan(p)) == 30 * 50 and np.nanmin(p) > 0 and np.nanmax(p) < 1
    assert report.samples == 800 and report.params["best_epoch"] == 1
    assert np.allclose(load_model("cnn", path).score_panel(top50_panel, rows), p, equal_nan=True)
