"""Part 2: fill ``twin_key`` (bank twins ``<id>.ko``/``<id>.en`` share ``tradesite:<id>``;
any other question is its own twin), load the bank's hints and glossary terms, copy the key
onto attempts, and keep one first answer per user and twin pair.

Before this, the Korean and English versions each took a first answer. Where a user has two,
the earlier stays the first answer; a later one that paid nothing stops being one. A later one
that did pay (the double payment issue 15 reports) is kept as recorded - the ledger entry is
real - under the key ``<twin_key>#paid-twice-<attempt id>`` so the new constraint holds."""

from pathlib import Path

from django.db import migrations

BANK_PATH = Path(__file__).resolve().parent.parent / "data" / "tradesite_bank.json"


def forwards(apps, schema_editor):
    from quiz.importers import parse_bank
    from quiz.rules import twin_key

    Question = apps.get_model("quiz", "Question")
    Attempt = apps.get_model("quiz", "Attempt")
    bank = {row.key: row for row in parse_bank(BANK_PATH).rows}
    for question in Question.objects.all().iterator():
        row = bank.get((question.source, question.external_id))
        if row is not None:
            question.twin_key, question.hint, question.terms = row.twin_key, row.hint, list(row.terms)
        else:
            question.twin_key = twin_key(source=question.source, external_id=question.external_id)
        question.save(update_fields=["twin_key", "hint", "terms"])
    keys = dict(Question.objects.values_list("pk", "twin_key"))
    firsts: dict[tuple[int, str], int] = {}
    for attempt in Attempt.objects.order_by("answered_at", "pk").iterator():
        attempt.twin_key = keys[attempt.question_id]
        if attempt.first_answer:
            slot = (attempt.user_id, attempt.twin_key)
            if slot not in firsts:
                firsts[slot] = attempt.pk
            elif attempt.reward == 0:
                attempt.first_answer = False
            else:
                attempt.twin_key = f"{attempt.twin_key}#paid-twice-{attempt.pk}"
        attempt.save(update_fields=["twin_key", "first_answer"])


class Migration(migrations.Migration):
    dependencies = [("quiz", "0003_hints_and_twins")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
