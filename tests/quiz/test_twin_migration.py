"""Migrations 0003-0005 on a database from before twins: questions get their bank hint, terms
and twin key, attempts the key, and each user keeps one first answer per twin pair (a pair
paid twice under the old rules stays as recorded, under its own key)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("quiz", "0002_load_bank")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_attempts_get_twin_keys_and_one_first_answer_per_pair():
    head = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = migrate(BEFORE)
    # the bank as 0002 loads it: a transactional test before this one may have flushed its rows
    import_module("quiz.migrations.0002_load_bank").load_bank(old, None)
    User = old.get_model("accounts", "User")
    Question = old.get_model("quiz", "Question")
    Attempt = old.get_model("quiz", "Attempt")
    ko = Question.objects.get(source="tradesite", external_id="krx-price-limit.ko")
    en = Question.objects.get(source="tradesite", external_id="krx-price-limit.en")
    t0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

    def attempt(user, question, status, reward, minutes):
        at = t0 + timedelta(minutes=minutes)
        return Attempt.objects.create(
            user=user,
            question=question,
            status=status,
            choice=question.correct_choice if status == "correct" else (question.correct_choice + 1) % 4,
            first_answer=True,
            reward=Decimal(reward),
            created_at=at,
            expires_at=at + timedelta(minutes=10),
            answered_at=at,
        )

    paid_twice = User.objects.create(username="ko-wrong-en-right", email="a@example.com")
    a1 = attempt(paid_twice, ko, "wrong", 0, 0)
    a2 = attempt(paid_twice, en, "correct", 10000, 1)  # what issue 15 reports: paid after the twin
    right_first = User.objects.create(username="ko-right-en-wrong", email="b@example.com")
    b1 = attempt(right_first, ko, "correct", 10000, 0)
    b2 = attempt(right_first, en, "wrong", 0, 1)

    new = migrate(head)

    Q = new.get_model("quiz", "Question")
    A = new.get_model("quiz", "Attempt")
    ko_new = Q.objects.get(pk=ko.pk)
    assert ko_new.twin_key == Q.objects.get(pk=en.pk).twin_key == "tradesite:krx-price-limit"
    assert ko_new.hint and ko_new.hint != ko_new.explanation and ko_new.terms == ["price-limit"]
    assert Q.objects.filter(twin_key="").count() == 0
    rows = {a.pk: (a.twin_key, a.first_answer, a.reward) for a in A.objects.all()}
    assert rows[b1.pk] == ("tradesite:krx-price-limit", True, Decimal("10000"))
    assert rows[b2.pk] == ("tradesite:krx-price-limit", False, Decimal("0"))
    assert rows[a1.pk] == ("tradesite:krx-price-limit", True, Decimal("0"))
    assert rows[a2.pk] == (f"tradesite:krx-price-limit#paid-twice-{a2.pk}", True, Decimal("10000"))
