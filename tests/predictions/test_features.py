"""Features and labels on the real top-50 KRX slice: no future data, sessions not days, halts."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from predictions.features import (
    FEATURE_NAMES,
    Panel,
    complete_windows,
    compute_features,
    forward_labels,
    panel_from_frame,
)
from predictions.sessions import session_offset

HALTED = "012450"  # 한화에어로스페이스, halted 2024-08-29 .. 2024-09-26 in the recorded file


def _perturbed_after(panel: Panel, t: int) -> Panel:
    """The panel with every session after row t changed: prices scaled, a stock delisted, a
    halt, zero volume."""
    arrays = {name: getattr(panel, name).copy() for name in ("open", "high", "low", "close", "volume")}
    for name in ("open", "high", "low", "close"):
        arrays[name][t + 1 :] *= 1.37
    arrays["volume"][t + 1 :] = 0
    for name in arrays:
        arrays[name][t + 1 :, 3] = np.nan  # stock 3 vanishes
        arrays[name][t + 2 : t + 6, 7] = np.nan  # stock 7 halts
    return Panel(panel.sessions, panel.codes, **arrays)


@pytest.mark.parametrize("day", [date(2024, 3, 4), date(2024, 11, 15), date(2025, 6, 9)])
def test_features_at_t_do_not_change_when_later_sessions_are_perturbed(top50_panel, day):
    t = top50_panel.session_index(day)

    before = compute_features(top50_panel)
    after = compute_features(_perturbed_after(top50_panel, t))

    assert np.array_equal(before[: t + 1], after[: t + 1], equal_nan=True)
    assert not np.array_equal(before[t + 1 :], after[t + 1 :], equal_nan=True)  # the perturbation bites
    assert np.isfinite(before[t]).any()


def test_the_label_at_t_reads_only_the_close_five_sessions_later(top50_panel):
    t = top50_panel.session_index(date(2024, 11, 15))
    labels = forward_labels(top50_panel)

    # sessions t+1 .. t+4 and after t+5 do not matter
    changed = {name: getattr(top50_panel, name).copy() for name in ("open", "high", "low", "close", "volume")}
    changed["close"][t + 1 : t + 5] *= 3
    changed["close"][t + 6 :] *= 0.1
    same = forward_labels(Panel(top50_panel.sessions, top50_panel.codes, **changed))
    assert np.array_equal(labels.label[t], same.label[t], equal_nan=True)

    # the close of t+5 does
    changed["close"][t + 5] *= 2
    moved = forward_labels(Panel(top50_panel.sessions, top50_panel.codes, **changed))
    assert np.all(moved.up[t] == moved.known[t])


def test_labels_compare_closes_five_krx_sessions_apart_across_a_holiday(top50_frame, top50_panel):
    # 2025-05-02 + 5 sessions = 2025-05-13 (05-05 and 05-06 are holidays)
    closes = top50_frame.set_index(["code", "date"])["close"]
    labels = forward_labels(top50_panel)
    t = top50_panel.session_index(date(2025, 5, 2))
    later = pd.Timestamp(session_offset(date(2025, 5, 2), 5))

    for n, code in enumerate(top50_panel.codes):
        now, then = closes[(code, pd.Timestamp("2025-05-02"))], closes[(code, later)]
        assert labels.up[t, n] == (then >= 1.04 * now)
        assert labels.down[t, n] == (then < now)
    assert labels.up[t].any() and labels.down[t].any() and (labels.known[t] & ~labels.labelled[t]).any()


def test_halt_rows_leave_no_features_and_no_labels_around_the_halt(top50_panel):
    n = top50_panel.codes.get_loc(HALTED)
    first_halt, last_halt = top50_panel.session_index(date(2024, 8, 29)), top50_panel.session_index(date(2024, 9, 26))
    features, labels = compute_features(top50_panel), forward_labels(top50_panel)

    assert np.isnan(top50_panel.close[first_halt : last_halt + 1, n]).all()
    # no window containing a halted session is complete: 19 sessions after resuming still have none
    assert np.isnan(features[first_halt : last_halt + 20, n]).all()
    assert not np.isnan(features[last_halt + 20, n]).any()
    # a label needs a trade at t and at t + 5
    assert not labels.known[first_halt - 5 : last_halt + 1, n].any()
    assert labels.known[first_halt - 6, n] and labels.known[last_halt + 1, n]


def test_skipping_halt_rows_or_keeping_them_gives_the_same_panel(top50_frame, top50_panel):
    halted = (top50_frame[["open", "high", "low"]] == 0).all(axis=1)
    assert halted.sum() == 18

    skipped = panel_from_frame(top50_frame[~halted], sessions=top50_panel.sessions)

    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(skipped, name), getattr(top50_panel, name), equal_nan=True)


def test_one_date_from_its_20_session_slice_equals_that_row_of_the_full_panel(top50_panel):
    t = top50_panel.session_index(date(2025, 6, 17))

    one_date = compute_features(top50_panel.rows(t - 19, t + 1))

    assert np.array_equal(one_date[-1], compute_features(top50_panel)[t], equal_nan=True)
    assert one_date.shape[-1] == len(FEATURE_NAMES)
    assert complete_windows(top50_panel)[t].sum() == 50


def test_features_of_a_real_day_are_what_the_candles_say(top50_frame, top50_panel):
    # 005930 삼성전자 on 2024-12-03 and the session before (see test_importers)
    n, t = top50_panel.codes.get_loc("005930"), top50_panel.session_index(date(2024, 12, 3))
    row = dict(zip(FEATURE_NAMES, compute_features(top50_panel)[t, n], strict=True))
    rows = top50_frame[(top50_frame.code == "005930") & (top50_frame.date <= "2024-12-03")].tail(20)

    assert row["ret_1"] == pytest.approx(np.log(53600 / 53600))
    assert row["range_1"] == pytest.approx((54400 - 53100) / 53600, rel=1e-6)
    assert row["body_1"] == pytest.approx((53600 - 53100) / 53100, rel=1e-6)
    assert row["ma_gap_20"] == pytest.approx(53600 / rows.close.mean() - 1, rel=1e-5)
    assert row["ret_19"] == pytest.approx(np.log(53600 / rows.close.iloc[0]), rel=1e-5)


def test_a_date_that_is_not_a_krx_session_is_refused(top50_frame):
    broken = top50_frame.copy()
    broken.loc[5, "date"] = pd.Timestamp("2024-06-09")  # a Sunday

    with pytest.raises(ValueError, match="not KRX sessions of the panel: 2024-06-09"):
        panel_from_frame(broken)
