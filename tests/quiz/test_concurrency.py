"""Quiz answers under concurrent requests. PostgreSQL only: SQLite has no row locks (its
IMMEDIATE transactions serialize writers instead), so there these tests would prove nothing.

Every answer locks the user's KRW wallet first, then the attempt, and decides only after both
locks (see ``quiz.services``); these tests release the requests together with a barrier.
"""

from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from quiz import services
from quiz.models import Attempt
from tests.accounts.factories import UserFactory
from tests.helpers import run_at_once
from tests.quiz.conftest import krw_cash, reward_entries
from tests.quiz.factories import AttemptFactory, QuestionFactory
from trading import services as trading_services
from trading.selectors import ledger_mismatches

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row-lock concurrency needs PostgreSQL (set DATABASE_URL)"
    ),
]

START = Decimal("10000000")


def _post_answer(user, attempt_id: int, choice: int):
    def post():
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(f"/api/v1/quiz/attempts/{attempt_id}/answer/", {"choice": choice}, format="json")
        return response.status_code, response.json()

    return post


def test_the_same_right_answer_posted_concurrently_pays_once():
    user = UserFactory()
    trading_services.account_open(user=user)
    attempt = AttemptFactory(user=user, question=QuestionFactory(difficulty=3))

    results = run_at_once(*[_post_answer(user, attempt.pk, 1)] * 10)

    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * 9, results
    (paid,) = [body for code, body in results if code == 200]
    assert paid["reward"] == "50000" and paid["cash"] == "10050000"
    assert {body["error"]["code"] for code, body in results if code == 409} == {"attempt_closed"}
    assert reward_entries(user).count() == 1
    assert krw_cash(user) == START + Decimal("50000")
    assert Attempt.objects.get(pk=attempt.pk).status == "correct"
    assert ledger_mismatches() == []


def test_concurrent_right_answers_to_two_attempts_at_one_question_pay_once():
    user = UserFactory()
    trading_services.account_open(user=user)
    question = QuestionFactory(difficulty=2)
    attempts = [AttemptFactory(user=user, question=question) for _ in range(6)]

    results = run_at_once(
        *[lambda a=a: services.quiz_attempt_answer(user=user, attempt_id=a.pk, choice=1) for a in attempts]
    )

    assert all(isinstance(r, services.AnswerResult) for r in results), results
    assert sorted(r.reward for r in results) == [0] * 5 + [Decimal("30000")]
    assert Attempt.objects.filter(question=question, first_answer=True).count() == 1
    assert krw_cash(user) == START + Decimal("30000")
    assert ledger_mismatches() == []


def test_concurrent_right_answers_near_the_daily_cap_pay_no_more_than_the_cap(settings):
    settings.QUIZ = {**settings.QUIZ, "DAILY_REWARD_CAP": Decimal("100000")}
    user = UserFactory()
    trading_services.account_open(user=user)
    attempts = [AttemptFactory(user=user, question=QuestionFactory(difficulty=2)) for _ in range(8)]  # 30,000 each

    results = run_at_once(
        *[lambda a=a: services.quiz_attempt_answer(user=user, attempt_id=a.pk, choice=1) for a in attempts]
    )

    assert all(isinstance(r, services.AnswerResult) and r.correct for r in results), results
    assert sorted(r.reward for r in results) == [0] * 4 + [Decimal("10000")] + [Decimal("30000")] * 3
    assert krw_cash(user) == START + Decimal("100000")
    assert ledger_mismatches() == []


def test_concurrent_first_answers_of_a_user_without_wallets_open_one_account():
    user = UserFactory()
    attempts = [AttemptFactory(user=user, question=QuestionFactory()) for _ in range(4)]

    results = run_at_once(
        *[lambda a=a: services.quiz_attempt_answer(user=user, attempt_id=a.pk, choice=1) for a in attempts]
    )

    assert all(isinstance(r, services.AnswerResult) for r in results), results
    assert user.wallets.filter(currency="KRW").count() == 1
    assert krw_cash(user) == START + 4 * Decimal("10000")
    assert ledger_mismatches() == []
