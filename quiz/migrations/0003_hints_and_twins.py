"""Hints that teach and language twins (issue 15), part 1: the columns. Question gets ``hint``,
``terms`` and ``twin_key``; Attempt gets ``twin_key`` and the ``gave_up`` status. The old
per-question constraints go here; 0004 fills the columns and 0005 adds the twin constraints
(schema and data in separate transactions, as PostgreSQL wants)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("quiz", "0002_load_bank")]

    operations = [
        migrations.RemoveConstraint(model_name="attempt", name="quiz_attempt_one_first_answer"),
        migrations.RemoveConstraint(model_name="attempt", name="quiz_attempt_answered_iff_closed"),
        migrations.AlterField(
            model_name="question",
            name="explanation",
            field=models.TextField(help_text="states the answer: shown after a right answer or when the user gives up"),
        ),
        migrations.AddField(
            model_name="question",
            name="hint",
            field=models.TextField(
                blank=True, default="", help_text="served with the question; points to the concept, never the answer"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="question",
            name="terms",
            field=models.JSONField(
                blank=True, default=list, help_text="glossary slugs the hint and explanation refer to"
            ),
        ),
        migrations.AddField(
            model_name="question",
            name="twin_key",
            field=models.CharField(
                db_index=True,
                default="",
                help_text='"<source>:<id>" shared by the language versions of one question',
                max_length=140,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="attempt",
            name="twin_key",
            field=models.CharField(default="", help_text="the question's twin_key", max_length=140),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="attempt",
            name="status",
            field=models.CharField(
                choices=[
                    ("open", "Open"),
                    ("correct", "Correct"),
                    ("wrong", "Wrong"),
                    ("expired", "Expired"),
                    ("gave_up", "Gave up"),
                ],
                default="open",
                max_length=10,
            ),
        ),
    ]
