"""Benchmark: features and up/down predictions for every KRX stock, one date and the full period.

On the real recorded file (../shared/data/krx_daily/krx_daily_ohlcv.csv.gz: 2,761 stocks,
370 sessions, 986,298 rows; the shipped top-50 slice when that is absent), each stage in a fresh
process so that its peak memory (max RSS) is its own:

1. baseline:    a process that only imports numpy, pandas, scikit-learn and the app's modules;
2. train:       one gradient-boosting model per board (KOSPI; KOSDAQ with KOSDAQ GLOBAL) on
                2024-01-02 .. 2024-12-30, as ``train_predictor`` does (its time is a by-product);
3. one date:    read the file, keep the 20 sessions up to ``--date``, build the panels,
                compute the features and predict every stock with its board's model;
4. full period: features and predictions of every stock on every session of the file;
5. database:    with ``--db`` (a SQLite file where the full file was imported and predictors
                trained), ``predictions_store`` for ``--date`` with every active predictor: read
                the candles, predict, upsert ``Prediction`` rows, i.e. what ``manage.py predict
                --date`` and the evening job do (models already loaded, as in a worker).

    .venv/bin/python bench/predict.py [--csv PATH] [--date 2025-06-17] [--db var/pred_full.sqlite3]

The aim of the issue: one date for all 2,761 stocks in under 10 s on this machine (2 cores).
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_CSV = ROOT.parent / "shared" / "data" / "krx_daily" / "krx_daily_ohlcv.csv.gz"
SHIPPED_CSV = ROOT / "markets" / "data" / "krx_daily" / "krx_daily_ohlcv_top50.csv.gz"
BOARDS = {"KOSPI": {"KOSPI"}, "KOSDAQ": {"KOSDAQ", "KOSDAQ GLOBAL"}}
TRAIN_START, TRAIN_END = "2024-01-02", "2024-12-30"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def stage_baseline(args) -> dict:
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    import predictions.evaluation  # noqa: F401
    import predictions.features  # noqa: F401
    import predictions.learners  # noqa: F401

    return {"peak_mb": _peak_mb()}


def stage_train(args) -> dict:
    from predictions.features import HORIZON, load_krx_csv, panel_from_frame
    from predictions.learners import train_model

    out = {}
    frame = load_krx_csv(args.csv)
    for board, segments in BOARDS.items():
        rows = frame[frame["market"].isin(segments)]
        if rows.empty:  # the shipped top-50 slice holds KOSPI stocks only
            continue
        panel = panel_from_frame(rows)
        start = time.perf_counter()
        model, report = train_model(
            "gbm", panel, panel.session_index(TRAIN_START), panel.session_index(TRAIN_END) - HORIZON
        )
        model.save(Path(args.models) / f"{board}.joblib")
        out[board] = {"seconds": time.perf_counter() - start, "samples": report.samples}
    out["peak_mb"] = _peak_mb()
    return out


def _models(args):
    from predictions.learners import load_model

    return {
        board: load_model("gbm", Path(args.models) / f"{board}.joblib")
        for board in BOARDS
        if (Path(args.models) / f"{board}.joblib").exists()
    }


def stage_one_date(args) -> dict:
    import pandas as pd

    from predictions.features import WINDOW, load_krx_csv, panel_from_frame
    from predictions.sessions import krx_calendar, session_offset, sessions_between

    models = _models(args)
    start = time.perf_counter()
    krx_calendar()  # built once per process; the web and worker processes keep it
    calendar = time.perf_counter() - start
    start = time.perf_counter()
    frame = load_krx_csv(args.csv)
    read = time.perf_counter() - start
    days = sessions_between(session_offset(args.date, -(WINDOW - 1)), args.date)
    start = time.perf_counter()
    window = frame[frame["date"] >= pd.Timestamp(days[0])]
    window = window[window["date"] <= pd.Timestamp(days[-1])]
    stocks = predicted = 0
    for board, model in models.items():
        panel = panel_from_frame(window[window["market"].isin(BOARDS[board])], sessions=days)
        p = model.score_panel(panel)[-1]
        stocks += panel.shape[1]
        predicted += int((~pd.isna(p)).sum())
    compute = time.perf_counter() - start
    return {
        "read_csv_s": read,
        "features_and_predict_s": compute,
        "stocks": stocks,
        "predicted": predicted,
        "calendar_s": calendar,
        "peak_mb": _peak_mb(),
    }


def stage_full_period(args) -> dict:
    import numpy as np

    from predictions.features import compute_features, load_krx_csv, panel_from_frame
    from predictions.sessions import krx_calendar

    models = _models(args)
    frame = load_krx_csv(args.csv)
    krx_calendar()  # once per process, as in stage_one_date
    start = time.perf_counter()
    cells = predicted = features_s = 0
    for board, model in models.items():
        panel = panel_from_frame(frame[frame["market"].isin(BOARDS[board])])
        t0 = time.perf_counter()
        compute_features(panel)
        features_s += time.perf_counter() - t0
        p = model.score_panel(panel)  # features again, then the model
        cells += p.size
        predicted += int((~np.isnan(p)).sum())
    return {
        "seconds": time.perf_counter() - start,
        "features_s": features_s,
        "stock_sessions": cells,
        "predicted": predicted,
        "peak_mb": _peak_mb(),
    }


def stage_database(args) -> dict:
    os.environ["SQLITE_PATH"] = str(Path(args.db).resolve())
    for var in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(var, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")
    import django

    django.setup()
    from datetime import date

    from predictions import selectors, services
    from predictions.sessions import krx_calendar

    krx_calendar()
    out = {"predictors": {}}
    for predictor in selectors.predictor_list(active_only=True).order_by("kind", "market"):
        try:
            services.load_predictor_model(predictor)  # the worker keeps loaded models (lru_cache)
        except services.PredictorUnavailable as exc:  # a CNN without PyTorch
            out["predictors"][predictor.name] = {"skipped": exc.message}
            continue
        start = time.perf_counter()
        run = services.predictions_store(predictor=predictor, start=date.fromisoformat(args.date))
        out["predictors"][predictor.name] = {"seconds": time.perf_counter() - start, "stored": run.total}
    out["peak_mb"] = _peak_mb()
    return out


def _run(stage, args) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(stage, args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=str(SHARED_CSV if SHARED_CSV.exists() else SHIPPED_CSV))
    parser.add_argument("--date", default="2025-06-17", help="the one date (a KRX session)")
    parser.add_argument("--db", help="SQLite file with the full KRX file imported and active gbm predictors")
    args = parser.parse_args()
    from tqdm import tqdm

    print(f"data: {args.csv}")
    with tempfile.TemporaryDirectory() as models:
        args.models = models
        stages = [
            ("baseline", stage_baseline),
            ("train", stage_train),
            ("one date", stage_one_date),
            ("full period", stage_full_period),
        ]
        if args.db:
            stages.append(("database", stage_database))
        results = {}
        for name, stage in tqdm(stages, unit="stage", desc="bench"):
            results[name] = _run(stage, args)

    r = results
    print(f"\nimport baseline: peak {r['baseline']['peak_mb']:.0f} MB")
    for board, figures in r["train"].items():
        if board != "peak_mb":
            print(
                f"train {board} gbm {TRAIN_START}..{TRAIN_END}: {figures['seconds']:.1f} s, {figures['samples']:,} samples"
            )
    print(f"  peak {r['train']['peak_mb']:.0f} MB")
    one = r["one date"]
    print(
        f"one date {args.date}: {one['stocks']:,} stocks, {one['predicted']:,} predicted "
        f"(a complete 20-session window); features + predictions {one['features_and_predict_s']:.2f} s "
        f"(+ reading the CSV {one['read_csv_s']:.2f} s = {one['features_and_predict_s'] + one['read_csv_s']:.2f} s; "
        f"building the XKRX calendar, once per process, {one['calendar_s']:.2f} s); peak {one['peak_mb']:.0f} MB"
    )
    full = r["full period"]
    print(
        f"full period: {full['stock_sessions']:,} stock-sessions, {full['predicted']:,} predicted, "
        f"{full['seconds']:.2f} s (features alone {full['features_s']:.2f} s); peak {full['peak_mb']:.0f} MB"
    )
    if "database" in r:
        for name, figures in r["database"]["predictors"].items():
            if "skipped" in figures:
                print(f"database, {name}: skipped ({figures['skipped']})")
                continue
            print(
                f"database, predictions_store {args.date} {name}: {figures['stored']:,} stored in {figures['seconds']:.2f} s"
            )
        print(f"  peak {r['database']['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
