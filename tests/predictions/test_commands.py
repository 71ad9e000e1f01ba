"""train_predictor, evaluate_predictor, predict and the daily job, on the real top-50 candles
imported into the database."""

import importlib
import json
from datetime import date
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from predictions import artifacts, services, tasks
from predictions.evaluation import evaluate_scores, momentum_scores
from predictions.features import FEATURE_NAMES, complete_windows, forward_labels
from predictions.models import Prediction, Predictor

pytestmark = pytest.mark.django_db


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *map(str, args), stdout=out)
    return out.getvalue()


def prediction_rows() -> list[tuple]:
    return list(
        Prediction.objects.order_by("predictor_id", "session_date", "rank").values_list(
            "predictor__name", "instrument__symbol", "session_date", "horizon", "probability_up", "rank"
        )
    )


def test_train_predictor_stores_a_versioned_artifact_with_its_metadata_and_retires_the_older_one(predicted):
    out = run(
        "train_predictor",
        "--market",
        "KOSPI",
        "--train-start",
        "2024-01-01",
        "--train-end",
        "2024-09-30",
        "--max-iter",
        30,
    )

    newer = Predictor.objects.get(name="gbm-kospi-20240102-20240930-v2")  # v1 is the module's predictor
    assert newer.active and not Predictor.objects.get(pk=predicted.pk).active
    assert (newer.kind, newer.market, newer.horizon, newer.window) == ("gbm", "KOSPI", 5, 20)
    assert newer.features == list(FEATURE_NAMES)
    assert (newer.train_start, newer.train_end) == (date(2024, 1, 2), date(2024, 9, 30))
    assert newer.library_versions["scikit-learn"] == "1.9.1"
    assert newer.metrics["last_session"] == "2024-09-23"  # its label looks 5 sessions ahead, to 09-30
    assert newer.metrics["validation"]["what"].startswith("walk-forward validation")
    artifact = Path(settings.PREDICTIONS["ARTIFACT_DIR"]) / newer.artifact
    assert artifact.exists() and services.file_sha256(artifact) == newer.artifact_sha256
    assert artifact.name != predicted.artifact
    assert "trained gbm-kospi-20240102-20240930-v2" in out and "not a result" in out


def test_training_on_a_board_without_candles_writes_nothing(predicted):
    files = set(Path(settings.PREDICTIONS["ARTIFACT_DIR"]).iterdir())

    with pytest.raises(CommandError, match="can't train on KOSDAQ"):
        run("train_predictor", "--market", "KOSDAQ", "--train-start", "2024-01-01", "--train-end", "2024-09-30")

    assert list(Predictor.objects.values_list("name", flat=True)) == [predicted.name]
    assert set(Path(settings.PREDICTIONS["ARTIFACT_DIR"]).iterdir()) == files


def test_evaluate_predictor_json_gives_out_of_sample_figures_of_the_model_and_the_baseline(predicted, top50_panel):
    report = json.loads(run("evaluate_predictor", "--test-start", "2024-10-01", "--test-end", "2025-06-17", "--json"))

    # 2024-10-01 was a one-off holiday (Armed Forces Day): the test period starts on 10-02
    assert report["model"] == predicted.name and report["test_period"] == ["2024-10-02", "2025-06-17"]
    for figures in (report, report["baseline"]):
        assert {"samples", "base_rate", "precision_at_20", "auc", "calibration"} <= figures.keys()
    # the database path sees what the recorded CSV says: same samples, same baseline figures
    rows = np.zeros(len(top50_panel.sessions), dtype=bool)
    rows[top50_panel.session_index(date(2024, 10, 2)) :] = True
    from_csv = evaluate_scores(momentum_scores(top50_panel), forward_labels(top50_panel), rows)
    assert report["samples"] == report["baseline"]["samples"] == from_csv["samples"]
    assert report["baseline"]["precision_at_20"] == pytest.approx(from_csv["precision_at_20"])
    assert report["baseline"]["auc"] == pytest.approx(from_csv["auc"])
    assert sum(row["count"] for row in report["calibration"]) == report["samples"]


def test_evaluate_predictor_prints_a_table_and_refuses_an_in_sample_period(predicted):
    out = run("evaluate_predictor", "--model", predicted.name, "--test-start", "2025-01-01", "--test-end", "2025-06-17")
    assert "precision at 20" in out and "baseline" in out and "calibration" in out

    with pytest.raises(CommandError, match="must start after 2024-09-30"):
        run("evaluate_predictor", "--test-start", "2024-09-01", "--test-end", "2025-06-17")


def test_predict_stores_ranked_predictions_once_per_model_stock_and_session(predicted):
    Prediction.objects.filter(session_date=date(2025, 6, 17)).delete()

    out = run("predict", "--date", "2025-06-17")

    stored = Prediction.objects.filter(session_date=date(2025, 6, 17)).order_by("rank")
    assert stored.count() == 50 and "50 predictions over 1 session(s)" in out
    probabilities = [p.probability_up for p in stored]
    assert probabilities == sorted(probabilities, reverse=True) and [p.rank for p in stored] == list(range(1, 51))
    assert {p.horizon for p in stored} == {5}

    before = prediction_rows()
    run("predict", "--date", "2025-06-17")
    assert prediction_rows() == before


def test_stored_predictions_equal_the_model_on_the_recorded_csv(predicted, top50_panel):
    model = services.load_predictor_model(predicted)
    expected = model.score_panel(top50_panel)
    stored = Prediction.objects.filter(predictor=predicted).values_list(
        "session_date", "instrument__symbol", "probability_up"
    )
    # a stock is predicted when it traded on the 20 sessions up to the day: 012450, halted until
    # 2024-09-26, is not on the first days of October
    first = top50_panel.session_index(date(2024, 10, 2))
    assert len(stored) == complete_windows(top50_panel)[first:].sum() == 50 * 170 - 17
    row = {day.date(): t for t, day in enumerate(top50_panel.sessions)}
    column = {code: n for n, code in enumerate(top50_panel.codes)}
    got = np.array([probability for _, _, probability in stored])
    want = np.array([expected[row[day], column[symbol]] for day, symbol, _ in stored])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_predict_refuses_a_day_that_is_not_a_session(predicted):
    before = prediction_rows()

    with pytest.raises(CommandError, match="2025-06-03 is not a KRX session"):
        run("predict", "--date", "2025-06-03")  # presidential election day

    assert prediction_rows() == before


def test_the_daily_job_predicts_a_session_with_candles_and_skips_the_rest(predicted):
    summary = tasks.daily_predictions.apply(args=["2025-06-17"]).get()

    assert summary["stored"] == {predicted.name: 50}
    assert Prediction.objects.filter(session_date=date(2025, 6, 17)).count() == 50
    assert services.daily_predictions_run(day=date(2025, 6, 3))["skipped"] == {"day": "not a KRX session"}
    late = services.daily_predictions_run(day=date(2025, 6, 18))  # the candles of that day never came
    assert late["skipped"] == {predicted.name: "no KOSPI candles for 2025-06-18"} and not late["stored"]


def test_the_daily_job_imports_the_configured_krx_file_first(settings, predicted):
    from tests.predictions.conftest import KRX_TOP50

    settings.PREDICTIONS = {**settings.PREDICTIONS, "KRX_DAILY_FILE": str(KRX_TOP50)}

    summary = services.daily_predictions_run(day=date(2025, 6, 17))

    assert summary["candles"] == "krx_daily_ohlcv_top50.csv.gz: 18482 candles written"
    assert summary["stored"] == {predicted.name: 50}


def test_beat_runs_the_daily_job_after_the_krx_close_and_registering_twice_changes_nothing(db):
    migration = importlib.import_module("predictions.migrations.0002_beat_schedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")

    migration.register(apps, None)
    migration.register(apps, None)

    task = PeriodicTask.objects.get(name=migration.NAME)
    assert task.task == tasks.daily_predictions.name and task.enabled
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week) == ("18", "30", "1-5")
    assert str(task.crontab.timezone) == "Asia/Seoul"
    assert PeriodicTask.objects.filter(task=tasks.daily_predictions.name).count() == 1


def test_the_daily_job_skips_a_predictor_it_cannot_load_and_runs_the_others(predicted):
    broken = Predictor.objects.create(
        name="cnn-kospi-gone",
        kind="cnn",
        market="KOSPI",
        horizon=5,
        up_threshold=0.04,
        window=20,
        features=["chart"],
        train_start=date(2024, 1, 2),
        train_end=date(2024, 9, 30),
        artifact="cnn-kospi-gone.pt",
        artifact_sha256="0" * 64,
    )

    summary = services.daily_predictions_run(day=date(2025, 6, 17))

    assert summary["stored"] == {predicted.name: 50}
    assert summary["skipped"] == {broken.name: "the artifact of cnn-kospi-gone (cnn-kospi-gone.pt) is missing"}
    assert not Prediction.objects.filter(predictor=broken).exists()


def test_train_predictor_market_all_trains_one_model_on_both_boards(predicted):
    from markets.models import Instrument

    # ten of the recorded stocks listed on KOSDAQ for this test
    kosdaq = list(Instrument.objects.filter(exchange="krx").order_by("symbol").values_list("pk", flat=True)[:10])
    Instrument.objects.filter(pk__in=kosdaq).update(segment="KOSDAQ")
    period = ("--train-start", "2024-01-01", "--train-end", "2024-09-30", "--max-iter", 20)

    run("train_predictor", "--market", "KOSPI", "--name", "only-kospi", *period)
    run("train_predictor", "--market", "KOSDAQ", "--name", "only-kosdaq", *period)
    run("train_predictor", "--market", "ALL", "--kind", "gbm", "--name", "both", *period)

    both, kospi, kosdaq_model = (Predictor.objects.get(name=n) for n in ("both", "only-kospi", "only-kosdaq"))
    assert both.market == "ALL" and both.active
    assert both.metrics["samples"] == kospi.metrics["samples"] + kosdaq_model.metrics["samples"]
    assert kospi.active and kosdaq_model.active  # another board's model is not retired


def test_evaluate_predictor_scores_exactly_the_listed_samples(predicted, tmp_path):
    stored = list(
        Prediction.objects.filter(predictor=predicted, session_date__gte=date(2025, 3, 3))
        .order_by("-session_date", "instrument__symbol")
        .values_list("instrument__symbol", "session_date", "probability_up")[:40]
    )
    samples = tmp_path / "samples.csv"
    samples.write_text("code,date\n" + "".join(f"{code},{day}\n" for code, day, _ in stored))
    out_file = tmp_path / "scores.csv"

    out = json.loads(
        run("evaluate_predictor", "--model", predicted.name, "--samples", samples, "--scores-out", out_file, "--json")
    )

    lines = out_file.read_text().splitlines()
    assert lines[0] == "code,date,label,p_up" and len(lines) == 41 and out["samples"] == 40
    for line, (code, day, probability) in zip(lines[1:], stored, strict=True):
        c, d, label, p_up = line.split(",")
        assert (c, d) == (code, str(day)) and label in ("", "0", "1")
        assert float(p_up) == pytest.approx(float(probability), abs=1e-4)
    with pytest.raises(CommandError, match="line 2: .* is not a date"):
        bad = tmp_path / "bad.csv"
        bad.write_text("code,date\n005930,2025-13-01\n")
        run("evaluate_predictor", "--model", predicted.name, "--samples", bad)
    with pytest.raises(CommandError, match="not after"):
        early = tmp_path / "early.csv"
        early.write_text("code,date\n005930,2024-06-03\n")
        run("evaluate_predictor", "--model", predicted.name, "--samples", early)


def test_the_demo_trains_a_new_version_when_the_database_outlived_the_artifact(predicted):
    """A database with a trained predictor and a new var/ (a wiped volume): ``load_demo_data``
    says the artifact is missing and trains again, instead of stopping with a CommandError."""
    from tradesite.management.commands.load_demo_data import Command

    (Path(settings.PREDICTIONS["ARTIFACT_DIR"]) / predicted.artifact).unlink()
    artifacts._cached_model.cache_clear()
    out = StringIO()

    Command(stdout=out)._predictions(verbosity=0)

    assert (
        f"the artifact of {predicted.name} ({predicted.artifact}) is missing: training a new version" in out.getvalue()
    )
    active = Predictor.objects.get(market="KOSPI", kind="gbm", active=True)
    assert active.pk != predicted.pk
    assert (Path(settings.PREDICTIONS["ARTIFACT_DIR"]) / active.artifact).is_file()
    assert Prediction.objects.filter(predictor=active, session_date__gte=date(2025, 1, 2)).exists()
