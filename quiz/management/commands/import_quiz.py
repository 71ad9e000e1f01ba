"""``manage.py import_quiz --format mmlu|csv PATH``: import questions from a CSV file.

    manage.py import_quiz --format mmlu ../shared/data/quiz/mmlu_economics_business_quiz.csv
    manage.py import_quiz --format csv my_questions.csv

The whole file is validated first; any bad row stops the command with every problem listed by
line (header = line 1) and nothing written. Then the rows are upserted on
``(source, external_id)``, so importing a file twice changes nothing. Formats: see
``quiz.importers``.
"""

from django.core.management.base import BaseCommand, CommandError

from quiz.importers import FORMATS, parse_csv_file
from quiz.services import question_upsert_many


class Command(BaseCommand):
    help = "Import quiz questions from a CSV file (MMLU or the quiz CSV format)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))

    def handle(self, *args, **options):
        try:
            parsed = parse_csv_file(options["path"], format=options["format"])
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {options['path']}: {exc}") from None
        if parsed.problems:
            raise CommandError(
                f"{len(parsed.problems)} problem(s), nothing imported:\n" + "\n".join(str(p) for p in parsed.problems)
            )
        for note in parsed.notes:
            self.stdout.write(note)
        result = question_upsert_many(rows=parsed.rows)
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(parsed.rows)} questions: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
            )
        )
