"""Part 3: one first answer per user and twin pair; ``gave_up`` closes an attempt without a choice."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("quiz", "0004_fill_hints_and_twins")]

    operations = [
        migrations.AddConstraint(
            model_name="attempt",
            constraint=models.UniqueConstraint(
                condition=models.Q(("first_answer", True)),
                fields=("user", "twin_key"),
                name="quiz_attempt_one_first_answer_twins",
            ),
        ),
        migrations.AddConstraint(
            model_name="attempt",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("answered_at__isnull", True), ("choice__isnull", True), ("status__in", ["open", "expired"])
                    ),
                    models.Q(
                        ("answered_at__isnull", False), ("choice__isnull", False), ("status__in", ["correct", "wrong"])
                    ),
                    models.Q(("answered_at__isnull", False), ("choice__isnull", True), ("status", "gave_up")),
                    _connector="OR",
                ),
                name="quiz_attempt_answered_iff_closed_v2",
            ),
        ),
    ]
