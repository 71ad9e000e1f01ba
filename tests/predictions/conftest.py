"""Fixtures of the predictions tests.

The shipped real top-50 KRX slice as a CSV frame and panel (pure tests), and, for the service,
command and API tests, the same slice in the database with a small trained KOSPI predictor and
its stored predictions. Importing and training take seconds, so that database state is built
once per test module, committed, and deleted when the module ends; each test still runs in its
own transaction, rolled back after it.
"""

from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from predictions.features import load_krx_csv, panel_from_frame

KRX_TOP50 = Path(settings.MARKETS["DATA_DIR"]) / "krx_daily" / "krx_daily_ohlcv_top50.csv.gz"
KRX_FULL = Path(settings.MARKETS["SHARED_DATA_DIR"]) / "krx_daily" / "krx_daily_ohlcv.csv.gz"

# A small training window and few boosting rounds keep the tests quick; the model is real.
TRAIN_START, TRAIN_END = date(2024, 1, 1), date(2024, 9, 30)
PREDICTED_START, PREDICTED_END = date(2024, 10, 2), date(2025, 6, 17)
FAST_GBM = {"max_iter": 30}


@pytest.fixture(scope="session", autouse=True)
def _artifacts_in_tmp(tmp_path_factory):
    """Model files go to a temporary directory, never var/models."""
    from predictions import artifacts

    with override_settings(
        PREDICTIONS={**settings.PREDICTIONS, "ARTIFACT_DIR": tmp_path_factory.mktemp("models"), "KRX_DAILY_FILE": ""}
    ):
        artifacts._cached_model.cache_clear()
        yield
    artifacts._cached_model.cache_clear()


@pytest.fixture(scope="session")
def top50_frame():
    """The recorded top-50 file as read by ``load_krx_csv`` (halt rows kept as recorded)."""
    return load_krx_csv(KRX_TOP50)


@pytest.fixture(scope="session")
def top50_panel(top50_frame):
    return panel_from_frame(top50_frame)


@pytest.fixture(scope="module")
def krx_predicted(django_db_setup, django_db_blocker):
    """For the whole module: the top-50 candles imported (halts skipped, the default), a small
    gradient-boosting KOSPI predictor trained on 2024-01..2024-09, and its predictions stored
    for every session 2024-10-02 .. 2025-06-17. Returns the predictor."""
    from markets.models import Instrument
    from predictions.models import Predictor
    from predictions.services import predictions_store, predictor_train

    with django_db_blocker.unblock():
        call_command("import_candles", "--format", "krx_daily", str(KRX_TOP50), verbosity=0)
        try:
            predictor = predictor_train(board="KOSPI", train_start=TRAIN_START, train_end=TRAIN_END, **FAST_GBM)
            predictions_store(predictor=predictor, start=PREDICTED_START, end=PREDICTED_END)
            yield predictor
        finally:
            Predictor.objects.all().delete()  # cascades to predictions and backtests
            Instrument.objects.filter(exchange="krx").delete()  # and candles


@pytest.fixture
def predicted(krx_predicted, db):
    """The module's predictor, inside this test's transaction."""
    krx_predicted.refresh_from_db()
    return krx_predicted


def full_file() -> Path:
    if not KRX_FULL.exists():
        pytest.skip(f"{KRX_FULL} absent: the full KRX file lives in ../shared/data and is not shipped")
    return KRX_FULL
