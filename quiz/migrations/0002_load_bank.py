"""Load the original bilingual bank (quiz/data/tradesite_bank.json) so every install - the demo
included - has questions. ``manage.py load_quiz`` re-runs the same upsert after edits."""

from pathlib import Path

from django.db import migrations

BANK_PATH = Path(__file__).resolve().parent.parent / "data" / "tradesite_bank.json"


def load_bank(apps, schema_editor):
    from quiz.importers import parse_bank

    Question = apps.get_model("quiz", "Question")
    parsed = parse_bank(BANK_PATH)
    if parsed.problems:
        raise ValueError("quiz bank is malformed:\n" + "\n".join(str(p) for p in parsed.problems))
    for row in parsed.rows:
        Question.objects.update_or_create(
            source=row.source,
            external_id=row.external_id,
            defaults={
                "text": row.text,
                "kind": row.kind,
                "choices": list(row.choices),
                "correct_choice": row.correct_choice,
                "explanation": row.explanation,
                "difficulty": row.difficulty,
                "category": row.category,
                "language": row.language,
                "attribution": row.attribution,
                "licence": row.licence,
            },
        )


def unload_bank(apps, schema_editor):
    Question = apps.get_model("quiz", "Question")
    Question.objects.filter(source="tradesite", attempts__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("quiz", "0001_initial")]

    operations = [migrations.RunPython(load_bank, unload_bank)]
