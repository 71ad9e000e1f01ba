"""The full recorded KRX file (../shared/data, not shipped): skipped, saying why, when absent."""

from datetime import date

import numpy as np
import pandas as pd

from predictions.features import WINDOW, compute_features, load_krx_csv, panel_from_frame
from predictions.sessions import sessions_between
from tests.predictions.conftest import full_file


def test_every_one_of_the_2761_stocks_gets_features_on_the_last_date_and_the_dates_are_krx_sessions():
    frame = load_krx_csv(full_file())
    days = sessions_between(date(2023, 12, 5), date(2025, 6, 17))
    assert [d.date() for d in pd.DatetimeIndex(frame["date"].unique()).sort_values()] == days

    window = frame[frame["date"] >= str(days[-WINDOW])]
    panel = panel_from_frame(window, sessions=days[-WINDOW:])
    features = compute_features(panel)[-1]

    assert panel.shape == (WINDOW, 2761)
    # a stock has features when it traded (no halt row) on all 20 sessions
    flat = (window["volume"] == 0) & window[["open", "high", "low"]].eq(window["close"], axis=0).all(axis=1)
    traded = window[~(window[["open", "high", "low"]] == 0).all(axis=1) & ~flat]
    expected = (traded.groupby("code").size() == WINDOW).sum()
    assert (~np.isnan(features).all(axis=1)).sum() == expected > 2600
