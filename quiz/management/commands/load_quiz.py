"""``manage.py load_quiz``: (re)load the original bilingual bank, ``quiz/data/tradesite_bank.json``.

An upsert on ``(source, external_id)``: running it twice changes nothing, and questions an
operator switched off stay off. A malformed entry stops the command, naming it, with nothing
written.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from quiz.importers import parse_bank
from quiz.services import question_upsert_many

BANK_PATH = Path(__file__).resolve().parents[2] / "data" / "tradesite_bank.json"


class Command(BaseCommand):
    help = "Load the original bilingual quiz bank (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--path", default=str(BANK_PATH), help="bank JSON file (default: the shipped bank)")

    def handle(self, *args, **options):
        parsed = parse_bank(options["path"])
        if parsed.problems:
            raise CommandError("\n".join(str(p) for p in parsed.problems))
        result = question_upsert_many(rows=parsed.rows)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(parsed.rows)} questions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
            )
        )
