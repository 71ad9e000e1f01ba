"""``manage.py train_predictor``: train an up/down predictor on a KRX board's stored candles.

    manage.py train_predictor --market KOSDAQ --train-start 2024-01-01 --train-end 2024-12-31
    manage.py train_predictor --market KOSPI --train-start 2024-01-01 --train-end 2024-12-31 --kind cnn
    manage.py train_predictor --market ALL --kind gbm --train-start 2006-01-02 --train-end 2018-12-28

Samples are the sessions t >= train-start with t + 5 sessions <= train-end, so nothing after
train-end is read; evaluate on a later period with ``evaluate_predictor``. The artifact goes to
``PREDICTIONS["ARTIFACT_DIR"]`` and its metadata to a ``Predictor`` row, which becomes the
active model of its kind and board.
"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from predictions.models import Board, ModelKind
from predictions.services import predictor_train


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Train an up/down predictor (gbm default, or cnn with PyTorch) on a KRX board."

    def add_arguments(self, parser):
        parser.add_argument(
            "--market",
            required=True,
            choices=Board.values,
            help="KRX board (KOSDAQ includes KOSDAQ GLOBAL; ALL = both boards in one model)",
        )
        parser.add_argument("--train-start", required=True, help="first session of the training period, YYYY-MM-DD")
        parser.add_argument("--train-end", required=True, help="last date whose prices the model may read, YYYY-MM-DD")
        parser.add_argument("--kind", default="gbm", choices=ModelKind.values)
        parser.add_argument("--name", help="predictor name (default: kind-board-start-end-vN)")
        parser.add_argument("--max-iter", type=int, help="gbm: most boosting rounds tried")
        parser.add_argument("--epochs", type=int, help="cnn: training epochs")
        parser.add_argument("--max-samples", type=int, help="cnn: most training images")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **opts):
        options = {k: opts[k] for k in ("max_iter", "epochs", "max_samples") if opts[k] is not None}
        say = (lambda text: None) if opts["verbosity"] == 0 else (lambda text: self.stdout.write(text))
        try:
            predictor = predictor_train(
                board=opts["market"],
                kind=opts["kind"],
                name=opts["name"],
                train_start=parse_day(opts["train_start"], "--train-start"),
                train_end=parse_day(opts["train_end"], "--train-end"),
                progress=say,
                random_state=opts["seed"],
                **options,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        say(
            f"trained {predictor.name}: {predictor.metrics['samples']} samples, "
            f"sessions {predictor.metrics['first_session']}..{predictor.metrics['last_session']}, artifact {predictor.artifact}"
        )
        say(
            "walk-forward validation inside the training period (model selection, not a result): "
            + json.dumps({k: v for k, v in predictor.metrics["validation"].items() if k != "what"})
        )
