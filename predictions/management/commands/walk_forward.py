"""``manage.py walk_forward``: walk-forward evaluation of the gbm learner, year by year, with costs.

    manage.py walk_forward --market ALL --kind gbm --first-test-year 2011 --last-test-year 2021 [--retrain yearly|monthly] --json
    manage.py walk_forward ... --csv ../shared/data/krx_daily_2006/krx_daily_ohlcv_2006_2021.csv.gz

For each test year a model is trained on every session before it (expanding window, 5-session
purge) and scores the year; figures per year and pooled for two labels against momentum and
reversal, with the weekly top decile net of KRX costs (``predictions.walkforward``). The stocks
come from the stored daily candles of the board, or with ``--csv`` from a recorded KRX daily
file (same panel, read without the database). The result is written as JSON under
``PREDICTIONS["ARTIFACT_DIR"]/walk_forward/`` (the model card page shows the latest) and, with
``--json``, printed.
"""

import json
import resource
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from predictions import selectors, services
from predictions.models import BOARD_SEGMENTS, Board
from predictions.walkforward import WalkForwardConfig, walk_forward


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = "Walk-forward evaluation (expanding window, yearly test folds) with KRX costs and baselines."

    def add_arguments(self, parser):
        parser.add_argument("--market", required=True, choices=Board.values)
        parser.add_argument("--kind", default="gbm", choices=["gbm"], help="gbm (the CNN is not walk-forwarded yet)")
        parser.add_argument("--first-test-year", type=int, required=True)
        parser.add_argument("--last-test-year", type=int, required=True)
        parser.add_argument("--retrain", default="yearly", choices=["yearly", "monthly"])
        parser.add_argument("--csv", help="read a recorded KRX daily file instead of the stored candles")
        parser.add_argument("--max-train-samples", type=int, default=300_000, help="per model (uniform draw)")
        parser.add_argument("--max-iter", type=int, default=100, help="boosting rounds per model")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--labels", default="prototype,sign", help="comma-separated: prototype, sign")
        parser.add_argument("--out", help="JSON file to write (default under ARTIFACT_DIR/walk_forward/)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **opts):
        try:
            config = WalkForwardConfig(
                first_test_year=opts["first_test_year"],
                last_test_year=opts["last_test_year"],
                retrain=opts["retrain"],
                max_train_samples=opts["max_train_samples"],
                max_iter=opts["max_iter"],
                seed=opts["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        quiet = opts["verbosity"] == 0 or opts["json"]
        say = (lambda text: None) if quiet else (lambda text: self.stdout.write(text))
        panel, source = self._panel(opts, config, say)
        try:
            labels = tuple(x.strip() for x in opts["labels"].split(",") if x.strip())
            result = walk_forward(panel, config, labels=labels, progress=say)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        result.update(
            market=opts["market"],
            kind=opts["kind"],
            source=source,
            created_at=timezone.now().isoformat(),
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        )
        out = Path(opts["out"]) if opts["out"] else self._default_out(opts, config)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        if opts["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self._table(result, say)
        say(f"written to {out} ({result['seconds']} s, peak RSS {result['peak_rss_mb']} MB)")

    def _panel(self, opts, config, say):
        from predictions.features import load_krx_csv, panel_from_frame

        if opts["csv"]:
            path = Path(opts["csv"])
            if not path.exists():
                raise CommandError(f"{path}: no such file")
            say(f"reading {path}")
            frame = load_krx_csv(path, markets=set(BOARD_SEGMENTS[opts["market"]]))
            frame = frame[frame["date"].dt.year <= config.last_test_year + 1]
            try:
                return panel_from_frame(frame), str(path)
            except ValueError as exc:
                raise CommandError(f"{path}: {exc}") from exc
        first = selectors.krx_first_session(board=opts["market"])
        if first is None:
            raise CommandError(f"no stored daily candles for {opts['market']}; import them or pass --csv")
        last = min(date(config.last_test_year + 1, 12, 31), timezone.localdate())
        say(f"reading the stored {opts['market']} candles from {first}")
        try:
            return selectors.krx_panel(board=opts["market"], start=first, end=last).panel, "database"
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

    def _default_out(self, opts, config) -> Path:
        stem = (
            f"{opts['kind']}-{opts['market'].lower()}-{config.first_test_year}-{config.last_test_year}-{config.retrain}"
        )
        return services.artifact_dir() / "walk_forward" / f"{stem}.json"

    def _table(self, result, say):
        for label, block in result["labels"].items():
            say(
                f"label {label}: year samples base_rate auc auc_session p@20 accuracy | momentum auc | reversal auc | top-bottom | top net - universe (weekly compounded)"
            )
            rows = [*block["years"].items(), ("pooled", block["pooled"])]
            for year, figures in rows:
                m = figures["model"]
                weekly = m["weekly"] or {}
                say(
                    f"  {year:>6} {m['samples']:>8} {_fmt(m['base_rate'])} {_fmt(m['auc'])} {_fmt(m['auc_session_mean'])} "
                    f"{_fmt(m['precision_at_20'])} {_fmt(m['accuracy'])} | {_fmt(figures['momentum_20']['auc'])} | "
                    f"{_fmt(figures['reversal_5']['auc'])} | {_fmt(m['top_minus_bottom'], 4)} | "
                    f"{_fmt(weekly.get('excess_compound'), 4)}"
                )
