"""``manage.py evaluate_predictor``: out-of-sample figures of a predictor and a naive baseline.

    manage.py evaluate_predictor --test-start 2025-01-01 --test-end 2025-06-17 [--model NAME] [--json]
    manage.py evaluate_predictor --model NAME --samples FILE --scores-out OUT --json

With ``--samples`` (a CSV with ``code,date``) the model scores exactly those stock-sessions, so two
models can be compared on the same samples; ``--scores-out`` gets ``code,date,label,p_up``
(label 1 up, 0 down, empty in-between or unknown; p_up empty without a complete window).

The test period must start after the model's training period; the universe is the model's
board. Reports labelled samples, base rate, precision at the top 20 per session, AUC (pooled and
per session), a calibration table, and the same for the 20-session momentum rank.
"""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from predictions import selectors
from predictions.management.commands.train_predictor import parse_day


def _fmt(value, digits=4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = "Evaluate a predictor out of sample on a later test period (default: the latest trained model)."

    def add_arguments(self, parser):
        parser.add_argument("--model", help="predictor name (default: the latest trained)")
        parser.add_argument("--test-start", help="YYYY-MM-DD, after the model's train end")
        parser.add_argument("--test-end", help="YYYY-MM-DD")
        parser.add_argument("--samples", help="CSV with code,date: score exactly these stock-sessions")
        parser.add_argument("--scores-out", help="with --samples: write code,date,label,p_up here")
        parser.add_argument("--top", type=int, default=20, help="N of precision at N (default 20)")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def handle(self, *args, **opts):
        if opts["model"]:
            predictor = selectors.predictor_get(name=opts["model"])
            if predictor is None:
                raise CommandError(f"no predictor named {opts['model']!r}")
        else:
            predictor = selectors.predictor_latest()
            if predictor is None:
                raise CommandError("no trained predictor; run manage.py train_predictor first")
        if opts["samples"]:
            return self._samples(predictor, opts)
        if not (opts["test_start"] and opts["test_end"]):
            raise CommandError("give --test-start and --test-end, or --samples FILE")
        try:
            report = selectors.predictor_evaluation(
                predictor=predictor,
                test_start=parse_day(opts["test_start"], "--test-start"),
                test_end=parse_day(opts["test_end"], "--test-end"),
                top_n=opts["top"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        key = f"precision_at_{opts['top']}"
        self.stdout.write(
            f"{report['model']} ({report['kind']}, {report['market']}), trained {report['train_period'][0]}.."
            f"{report['train_period'][1]}, tested {report['test_period'][0]}..{report['test_period'][1]} "
            f"({report['sessions']} sessions with labels)"
        )
        self.stdout.write(f"{'':26}{'model':>10}{'baseline':>10}")
        base = report["baseline"]
        for label, a, b in [
            ("labelled samples", report["samples"], base["samples"]),
            ("base rate (up)", report["base_rate"], base["base_rate"]),
            (f"precision at {opts['top']}", report[key], base[key]),
            ("AUC (pooled)", report["auc"], base["auc"]),
            ("AUC (mean per session)", report["auc_session_mean"], base["auc_session_mean"]),
            (f"all picks: precision at {opts['top']}", report["all_picks"][key], base["all_picks"][key]),
            ("all picks: up rate", report["all_picks"]["up_rate"], base["all_picks"]["up_rate"]),
        ]:
            cell = (lambda v: f"{v:>10}") if isinstance(a, int) else (lambda v: f"{_fmt(v):>10}")
            self.stdout.write(f"{label:26}{cell(a)}{cell(b)}")
        self.stdout.write("calibration (model, score deciles): bin count mean_p up_rate")
        for row in report["calibration"]:
            self.stdout.write(f"  {row['bin']:>3} {row['count']:>7} {row['mean_score']:.4f} {row['up_rate']:.4f}")

    def _samples(self, predictor, opts) -> None:
        path = Path(opts["samples"])
        samples = []
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                if not reader.fieldnames or not {"code", "date"} <= set(reader.fieldnames):
                    raise CommandError(f"{path}, line 1: expected the columns code,date")
                for line, row in enumerate(reader, start=2):
                    try:
                        samples.append((row["code"].strip(), parse_day(row["date"].strip(), "date")))
                    except CommandError as exc:
                        raise CommandError(f"{path}, line {line}: {exc}") from None
        except OSError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        try:
            report = selectors.predictor_sample_scores(predictor=predictor, samples=samples, top_n=opts["top"])
        except ValueError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["scores_out"]:
            with open(opts["scores_out"], "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["code", "date", "label", "p_up"])
                for row in report["rows"]:
                    writer.writerow(
                        [
                            row["code"],
                            row["date"],
                            "" if row["label"] is None else row["label"],
                            "" if row["p_up"] is None else f"{row['p_up']:.6f}",
                        ]
                    )
        summary = {k: v for k, v in report.items() if k != "rows"}
        if opts["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.stdout.write(" ".join(f"{k} {v}" for k, v in summary.items()))
