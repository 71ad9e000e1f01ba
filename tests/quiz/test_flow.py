"""The quiz through its API: serving, answering, paying once, hints, expiry, bad input, stats.

Default settings: rewards 10,000 / 30,000 / 50,000 KRW by difficulty, attempts expire after
10 minutes, daily cap 300,000 KRW; a new account starts with 10,000,000 KRW.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from quiz.models import Attempt
from tests.accounts.factories import UserFactory
from tests.quiz.conftest import krw_cash, reward_entries
from tests.quiz.factories import AttemptFactory, QuestionFactory
from trading import services as trading_services
from trading.models import CashEntry
from trading.selectors import ledger_mismatches

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/quiz/next/"
STATS = "/api/v1/quiz/stats/"
START = Decimal("10000000")


def answer_url(attempt_id: int) -> str:
    return f"/api/v1/quiz/attempts/{attempt_id}/answer/"


def serve(client, **filters) -> dict:
    response = client.get(NEXT, filters)
    assert response.status_code == 200, response.content
    return response.json()


# --- serving ------------------------------------------------------------------------------


def test_next_serves_choices_the_hint_and_an_attempt_but_never_the_answer_or_explanation(auth_client, user, empty_bank):
    question = QuestionFactory(difficulty=2)

    response = auth_client.get(NEXT)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"attempt_id", "expires_at", "reward", "question"}
    assert set(body["question"]) == {
        "id",
        "text",
        "kind",
        "choices",
        "hint",
        "terms",
        "difficulty",
        "category",
        "language",
        "source",
        "attribution",
        "licence",
    }
    assert body["question"]["choices"] == question.choices and body["reward"] == "30000"
    assert body["question"]["hint"] == question.hint  # served before answering
    assert [t["url"] for t in body["question"]["terms"]] == ["/glossary/#term-market-order"]
    raw = response.content.decode()
    assert question.explanation not in raw
    assert "correct" not in raw and "explanation" not in raw
    attempt = Attempt.objects.get(pk=body["attempt_id"])
    assert attempt.user == user and attempt.question == question and attempt.status == "open"
    assert attempt.expires_at - attempt.created_at == timedelta(minutes=10)
    assert response["Cache-Control"] == "no-store"


def test_next_without_login_is_401_and_serves_nothing(api_client, empty_bank):
    QuestionFactory()

    response = api_client.get(NEXT)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert Attempt.objects.count() == 0


@pytest.mark.parametrize(
    "filters, field",
    [({"difficulty": "4"}, "difficulty"), ({"category": "astrology"}, "category"), ({"language": "fr"}, "language")],
)
def test_next_with_a_bad_filter_is_400_naming_it_and_serves_nothing(auth_client, empty_bank, filters, field):
    QuestionFactory()

    response = auth_client.get(NEXT, filters)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Attempt.objects.count() == 0


def test_next_filters_by_language_category_and_difficulty(auth_client, empty_bank):
    QuestionFactory(language="en", category="crypto", difficulty=3)
    wanted = QuestionFactory(language="ko", category="crypto", difficulty=3)
    QuestionFactory(language="ko", category="markets", difficulty=3)
    QuestionFactory(language="ko", category="crypto", difficulty=1)
    QuestionFactory(language="ko", category="crypto", difficulty=3, active=False)

    body = serve(auth_client, language="ko", category="crypto", difficulty=3)

    assert body["question"]["id"] == wanted.pk and body["reward"] == "50000"


def test_next_with_blank_filters_means_any(auth_client, empty_bank):
    question = QuestionFactory()

    response = auth_client.get(NEXT + "?difficulty=&category=&language=")

    assert response.status_code == 200 and response.json()["question"]["id"] == question.pk


def test_next_again_before_answering_serves_the_same_open_attempt(auth_client, empty_bank):
    QuestionFactory()

    first, second = serve(auth_client), serve(auth_client)

    assert first["attempt_id"] == second["attempt_id"]
    assert Attempt.objects.count() == 1


def test_a_solved_question_is_not_served_again_and_404_when_all_are_solved(auth_client, empty_bank):
    QuestionFactory()
    served = serve(auth_client)
    auth_client.post(answer_url(served["attempt_id"]), {"choice": 1}, format="json")

    response = auth_client.get(NEXT)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_question"


def test_unseen_questions_come_before_ones_answered_wrong(auth_client, empty_bank):
    missed = QuestionFactory()
    served = serve(auth_client)
    assert served["question"]["id"] == missed.pk
    auth_client.post(answer_url(served["attempt_id"]), {"choice": 0}, format="json")
    unseen = QuestionFactory()

    assert serve(auth_client)["question"]["id"] == unseen.pk


# --- answering ----------------------------------------------------------------------------


def test_right_answer_pays_the_reward_once_into_the_wallet_ledger(auth_client, user, empty_bank):
    question = QuestionFactory(difficulty=2)
    served = serve(auth_client)

    response = auth_client.post(answer_url(served["attempt_id"]), {"choice": 1}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "attempt_id": served["attempt_id"],
        "correct": True,
        "reward": "30000",
        "explanation": question.explanation,
        "correct_choice": 1,
        "cash": "10030000",
        "no_reward_reason": None,
    }
    (entry,) = reward_entries(user)
    assert entry.amount == Decimal("30000") and entry.reference == f"quiz attempt {served['attempt_id']}"
    attempt = Attempt.objects.get(pk=served["attempt_id"])
    assert (attempt.status, attempt.choice, attempt.first_answer, attempt.reward, attempt.cash_entry) == (
        "correct",
        1,
        True,
        Decimal("30000"),
        entry,
    )
    assert krw_cash(user) == START + Decimal("30000")
    assert ledger_mismatches() == []


def test_wrong_answer_returns_the_hint_closes_the_attempt_and_pays_nothing(auth_client, user, empty_bank):
    question = QuestionFactory()
    served = serve(auth_client)

    response = auth_client.post(answer_url(served["attempt_id"]), {"choice": 3}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["correct"] is False and body["reward"] == "0" and body["hint"] == question.hint
    assert "explanation" not in body and "correct_choice" not in body
    assert question.explanation not in response.content.decode()
    assert body["cash"] == "10000000"
    assert Attempt.objects.get(pk=served["attempt_id"]).status == "wrong"
    assert not reward_entries(user).exists()
    assert krw_cash(user) == START


def test_retry_after_a_wrong_answer_is_right_but_pays_nothing(auth_client, user, empty_bank):
    QuestionFactory()
    first = serve(auth_client)
    auth_client.post(answer_url(first["attempt_id"]), {"choice": 0}, format="json")
    second = serve(auth_client)
    assert second["attempt_id"] != first["attempt_id"] and second["reward"] == "0"

    body = auth_client.post(answer_url(second["attempt_id"]), {"choice": 1}, format="json").json()

    assert body["correct"] is True and body["reward"] == "0" and body["no_reward_reason"] == "answered_before"
    assert not reward_entries(user).exists()
    assert krw_cash(user) == START


def test_a_second_attempt_at_a_solved_question_pays_nothing(auth_client, user, empty_bank):
    question = QuestionFactory()
    # two attempts at one question, e.g. served before a change of filters
    first, second = AttemptFactory(user=user, question=question), AttemptFactory(user=user, question=question)
    auth_client.post(answer_url(first.pk), {"choice": 1}, format="json")

    response = auth_client.post(answer_url(second.pk), {"choice": 1}, format="json")

    assert response.status_code == 200
    assert response.json()["reward"] == "0" and response.json()["no_reward_reason"] == "answered_before"
    assert reward_entries(user).count() == 1
    assert krw_cash(user) == START + Decimal("10000")
    assert ledger_mismatches() == []


def test_answering_the_same_attempt_twice_is_409_and_pays_once(auth_client, user, empty_bank):
    QuestionFactory()
    served = serve(auth_client)
    auth_client.post(answer_url(served["attempt_id"]), {"choice": 1}, format="json")

    response = auth_client.post(answer_url(served["attempt_id"]), {"choice": 1}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "attempt_closed"
    assert reward_entries(user).count() == 1
    assert krw_cash(user) == START + Decimal("10000")


def test_expired_attempt_is_409_and_changes_nothing(auth_client, user, empty_bank):
    QuestionFactory()
    served = serve(auth_client)
    Attempt.objects.filter(pk=served["attempt_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = auth_client.post(answer_url(served["attempt_id"]), {"choice": 1}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "attempt_expired",
        "message": "This attempt has expired; ask for the next question.",
        "fields": {},
    }
    attempt = Attempt.objects.get(pk=served["attempt_id"])
    assert attempt.status == "open" and attempt.choice is None and attempt.answered_at is None
    assert not reward_entries(user).exists()


def test_next_marks_stale_attempts_expired_and_serves_a_fresh_one(auth_client, empty_bank):
    QuestionFactory()
    stale = serve(auth_client)
    Attempt.objects.filter(pk=stale["attempt_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    fresh = serve(auth_client)

    assert fresh["attempt_id"] != stale["attempt_id"]
    assert Attempt.objects.get(pk=stale["attempt_id"]).status == "expired"
    assert auth_client.post(answer_url(stale["attempt_id"]), {"choice": 1}, format="json").status_code == 409
    assert Attempt.objects.get(pk=stale["attempt_id"]).status == "expired"  # the late answer changed nothing


@pytest.mark.parametrize(
    "payload",
    [
        {"choice": "b"},
        {"choice": -1},
        {"choice": 4},
        {"choice": 1.5},
        {"choice": None},
        {"choice": True},
        {"choice": [1]},
        {},
    ],
    ids=["letter", "negative", "out-of-range", "fraction", "null", "boolean", "list", "missing"],
)
def test_malformed_choice_is_400_naming_the_field_and_changes_nothing(auth_client, user, empty_bank, payload):
    QuestionFactory()
    served = serve(auth_client)
    trading_services.account_open(user=user)  # "nothing changed" is checked on real rows
    entries_before = CashEntry.objects.count()

    response = auth_client.post(answer_url(served["attempt_id"]), json.dumps(payload), content_type="application/json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in {"invalid", "invalid_choice"} and "choice" in error["fields"]
    attempt = Attempt.objects.get(pk=served["attempt_id"])
    assert attempt.status == "open" and attempt.choice is None and attempt.answered_at is None
    assert CashEntry.objects.count() == entries_before and krw_cash(user) == START


def test_another_users_attempt_is_404_and_changes_nothing(auth_client, empty_bank):
    other = AttemptFactory(user=UserFactory(), question=QuestionFactory())

    response = auth_client.post(answer_url(other.pk), {"choice": 1}, format="json")

    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "open" and not CashEntry.objects.filter(kind="quiz_reward").exists()


def test_answers_are_throttled_per_user(auth_client, user, empty_bank, settings):
    settings.QUIZ = {**settings.QUIZ, "ANSWER_THROTTLE_RATE": "2/min"}
    attempts = [AttemptFactory(user=user, question=QuestionFactory()) for _ in range(3)]

    codes = [auth_client.post(answer_url(a.pk), {"choice": 1}, format="json").status_code for a in attempts]

    assert codes == [200, 200, 429]
    assert Attempt.objects.get(pk=attempts[2].pk).status == "open"
    assert reward_entries(user).count() == 2


# --- stats and the page -------------------------------------------------------------------


def test_stats_report_accuracy_earnings_and_streaks(auth_client, user, empty_bank):
    easy, medium, hard = QuestionFactory(difficulty=1), QuestionFactory(difficulty=2), QuestionFactory(difficulty=3)
    for question, choice in [(easy, 1), (medium, 0), (hard, 1), (medium, 1)]:
        attempt = AttemptFactory(user=user, question=question)
        auth_client.post(answer_url(attempt.pk), {"choice": choice}, format="json")

    body = auth_client.get(STATS).json()

    # right, wrong, right (50,000), right again but after a miss (0)
    assert body["answered"] == 4 and body["correct"] == 3 and body["accuracy"] == "0.75"
    assert body["questions_solved"] == 3
    assert body["earned_total"] == "60000" and body["earned_today"] == "60000"
    assert body["daily_cap"] == "300000" and body["remaining_today"] == "240000"
    assert (body["streak"], body["best_streak"], body["day_streak"]) == (2, 2, 1)
    assert body["by_category"] == [{"category": "markets", "answered": 4, "correct": 3}]


def test_stats_before_any_answer(auth_client):
    body = auth_client.get(STATS).json()

    assert body["answered"] == 0 and body["accuracy"] is None and body["streak"] == 0 and body["earned_total"] == "0"


def test_quiz_page_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/quiz/")

    assert response.status_code == 200
    assert b"/api-auth/login/?next=/quiz/" in response.content and b'id="quiz-choices"' not in response.content


def test_quiz_page_plays_through_the_session_cookie_with_csrf(user, empty_bank):
    QuestionFactory()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(user)

    page = browser.get("/quiz/")
    served = browser.get(NEXT).json()
    without_token = browser.post(answer_url(served["attempt_id"]), {"choice": 1}, format="json")
    with_token = browser.post(
        answer_url(served["attempt_id"]), {"choice": 1}, format="json", HTTP_X_CSRFTOKEN=page.cookies["csrftoken"].value
    )

    assert page.status_code == 200 and b'id="quiz-choices"' in page.content
    assert without_token.status_code == 403
    assert with_token.status_code == 200 and with_token.json()["reward"] == "10000"
