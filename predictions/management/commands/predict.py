"""``manage.py predict``: store predictions for a session (or a range) by hand.

    manage.py predict --date 2025-06-17                      # every active predictor
    manage.py predict --model NAME --start 2025-01-02 --end 2025-06-17   # backfill one predictor

The same service the daily Celery job calls, without the candle update.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.exceptions import DomainError
from predictions import selectors
from predictions.management.commands.train_predictor import parse_day
from predictions.services import predictions_store


class Command(BaseCommand):
    help = "Predict every active stock on a KRX session (--date) or sessions (--start/--end) and store it."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the session, YYYY-MM-DD")
        parser.add_argument("--start", help="first session of a backfill")
        parser.add_argument("--end", help="last session of a backfill (inclusive)")
        parser.add_argument("--model", help="predictor name (default: every active predictor)")

    def handle(self, *args, **opts):
        if bool(opts["date"]) == bool(opts["start"] or opts["end"]):
            raise CommandError("give --date, or --start and --end")
        if opts["date"]:
            start = end = parse_day(opts["date"], "--date")
        else:
            if not (opts["start"] and opts["end"]):
                raise CommandError("a backfill needs both --start and --end")
            start, end = parse_day(opts["start"], "--start"), parse_day(opts["end"], "--end")
        if opts["model"]:
            predictor = selectors.predictor_get(name=opts["model"])
            if predictor is None:
                raise CommandError(f"no predictor named {opts['model']!r}")
            predictors = [predictor]
        else:
            predictors = list(selectors.predictor_list(active_only=True).order_by("name"))
            if not predictors:
                raise CommandError("no active predictor; run manage.py train_predictor first")
        for predictor in tqdm(predictors, unit="model", disable=True if opts["verbosity"] == 0 else None):
            try:
                run = predictions_store(predictor=predictor, start=start, end=end)
            except DomainError as exc:
                raise CommandError(f"{predictor.name}: {exc.message}") from exc
            if opts["verbosity"]:
                self.stdout.write(
                    f"{predictor.name}: {run.total} predictions over {len(run.stored)} session(s) {start}..{end}"
                )
