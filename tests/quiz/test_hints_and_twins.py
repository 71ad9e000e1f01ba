"""Hints that teach and language twins (issue 15).

The shipped bank (loaded by the data migrations): every one of its 128 questions has a hint
that does not contain its answer; the Korean and English versions of a question share one
``twin_key`` and so pay once and are solved together; the hint is served before answering,
the explanation only after a right answer or when the user gives up.
"""

import json
import re
import unicodedata
from pathlib import Path

import pytest

from quiz import glossary, rules
from quiz.models import Attempt, Question
from tests.quiz.conftest import krw_cash, reward_entries
from tests.quiz.factories import AttemptFactory

pytestmark = pytest.mark.django_db

BANK = Path(__file__).resolve().parents[2] / "quiz" / "data" / "tradesite_bank.json"
NEXT = "/api/v1/quiz/next/"
START = 10_000_000


def _plain(text: str) -> str:
    """An independent normalisation: NFKC, lower case, letters/digits/Hangul only."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


def bank_questions():
    return list(Question.objects.filter(source="tradesite").order_by("external_id"))


def only_pair(entry_id: str) -> tuple[Question, Question]:
    """Keep just one bank entry's two versions, so a random pick can only serve them."""
    Question.objects.exclude(twin_key=f"tradesite:{entry_id}").delete()
    return Question.objects.get(external_id=f"{entry_id}.ko"), Question.objects.get(external_id=f"{entry_id}.en")


def answer(client, attempt_id, choice):
    response = client.post(f"/api/v1/quiz/attempts/{attempt_id}/answer/", {"choice": choice}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def serve(client, **filters):
    response = client.get(NEXT, filters)
    assert response.status_code == 200, response.content
    return response.json()


# --- the bank ------------------------------------------------------------------------------


def test_every_one_of_the_128_bank_questions_has_a_hint_without_its_answer():
    questions = bank_questions()
    assert len(questions) == 128
    leaks = []
    for q in questions:
        assert q.hint.strip(), q.external_id
        assert _plain(q.hint) != _plain(q.explanation), q.external_id
        if q.kind == Question.Kind.MULTIPLE_CHOICE:
            if _plain(q.choices[q.correct_choice]) in _plain(q.hint):
                leaks.append((q.external_id, q.choices[q.correct_choice]))
        else:  # O/X: the hint states no verdict, in either direction
            verdict = re.search(
                r"(?<![A-Za-z])[OX](?![A-Za-z])|\b(true|false)\b|맞습니다|틀립니다|틀렸습니다|거짓", q.hint, re.I
            )
            if verdict:
                leaks.append((q.external_id, verdict.group(0)))
    assert leaks == []


def test_the_leak_check_catches_a_hint_that_gives_the_answer():
    # the explanations state their answers: used as hints, the rule refuses nearly all of them
    caught = [
        q.external_id
        for q in bank_questions()
        if rules.hint_problems(
            hint=q.explanation,
            kind=q.kind,
            choices=q.choices,
            correct_choice=q.correct_choice,
            explanation=q.explanation + " (other)",
        )
    ]
    assert len(caught) >= 80  # of 128; the rest paraphrase their answer
    assert rules.hint_problems(
        hint="Compute it: 1,210,000 krw",
        kind="mc",
        choices=["1,200,000 KRW", "1,210,000 KRW"],
        correct_choice=1,
        explanation="x",
    )


def test_the_importer_refuses_a_bank_hint_that_contains_the_answer(tmp_path):
    from quiz.importers import parse_bank

    data = json.loads(BANK.read_text(encoding="utf-8"))
    entry = next(e for e in data["questions"] if e["id"] == "krx-price-limit")
    entry["en"]["hint"] = "It is ±30% since 2015."
    data["questions"] = [entry]
    path = tmp_path / "bank.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    parsed = parse_bank(path)

    assert [(p.field, p.where) for p in parsed.problems] == [("hint", "questions[0] (krx-price-limit.en)")]
    assert [r.language for r in parsed.rows] == ["ko"]


def test_language_versions_share_one_twin_key_and_their_terms_are_in_the_glossary():
    questions = bank_questions()
    pairs: dict[str, set[str]] = {}
    for q in questions:
        pairs.setdefault(q.twin_key, set()).add(q.language)
    assert len(pairs) == 64 and all(langs == {"ko", "en"} for langs in pairs.values())
    known = glossary.by_slug()
    for q in questions:
        assert q.terms and all(slug in known for slug in q.terms), q.external_id


# --- twins pay once ------------------------------------------------------------------------


def test_korean_wrong_then_english_right_pays_nothing(auth_client, user):
    ko, en = only_pair("krx-price-limit")
    served_ko = serve(auth_client, language="ko")
    assert served_ko["question"]["id"] == ko.pk and served_ko["reward"] == f"{ko.reward:.0f}" != "0"
    assert answer(auth_client, served_ko["attempt_id"], (ko.correct_choice + 1) % 4)["correct"] is False

    served_en = serve(auth_client, language="en")
    assert served_en["question"]["id"] == en.pk and served_en["reward"] == "0"  # the preview says so
    body = answer(auth_client, served_en["attempt_id"], en.correct_choice)

    assert body["correct"] is True and body["reward"] == "0" and body["no_reward_reason"] == "answered_before"
    assert not reward_entries(user).exists() and krw_cash(user) == START


def test_english_right_pays_once_and_the_korean_twin_counts_as_solved(auth_client, user):
    ko, en = only_pair("upbit-krw-fee")
    body = answer(auth_client, serve(auth_client, language="en")["attempt_id"], en.correct_choice)
    assert body["reward"] == f"{en.reward:.0f}"

    response = auth_client.get(NEXT, {"language": "ko"})

    assert response.status_code == 404 and response.json()["error"]["code"] == "no_question"
    assert reward_entries(user).count() == 1 and krw_cash(user) == START + en.reward


def test_an_open_korean_attempt_pays_nothing_once_the_english_twin_was_answered(auth_client, user):
    ko, en = only_pair("rule-of-72")
    ko_attempt = AttemptFactory(user=user, question=ko)
    answer(auth_client, serve(auth_client, language="en")["attempt_id"], (en.correct_choice + 1) % 4)

    body = answer(auth_client, ko_attempt.pk, ko.correct_choice)

    assert body["correct"] is True and body["reward"] == "0"
    assert Attempt.objects.filter(user=user, twin_key=ko.twin_key, first_answer=True).count() == 1


def test_the_database_refuses_a_second_first_answer_across_twins(user):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    ko, en = only_pair("sharpe-ratio")
    now = timezone.now()
    AttemptFactory(user=user, question=ko, status="wrong", choice=0, answered_at=now, first_answer=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        AttemptFactory(user=user, question=en, status="wrong", choice=0, answered_at=now, first_answer=True)
    assert Attempt.objects.filter(user=user).count() == 1


# --- hint before, explanation after --------------------------------------------------------


def test_the_hint_is_served_before_answering_and_the_explanation_only_after(auth_client, user):
    ko, en = only_pair("loss-recovery")
    served = serve(auth_client, language="en")
    raw = json.dumps(served, ensure_ascii=False)
    assert served["question"]["hint"] == en.hint
    assert en.explanation not in raw and "correct_choice" not in raw
    assert {t["slug"] for t in served["question"]["terms"]} == set(en.terms)

    wrong = answer(auth_client, served["attempt_id"], (en.correct_choice + 1) % 4)
    assert wrong["hint"] == en.hint and "explanation" not in wrong and "correct_choice" not in wrong

    retry = serve(auth_client, language="en")
    right = answer(auth_client, retry["attempt_id"], en.correct_choice)
    assert right["explanation"] == en.explanation and right["correct_choice"] == en.correct_choice
    assert "hint" not in right


def test_giving_up_shows_the_explanation_and_closes_both_twins_for_rewards(auth_client, user):
    ko, en = only_pair("compound-interest")
    served = serve(auth_client, language="ko")

    response = auth_client.post(f"/api/v1/quiz/attempts/{served['attempt_id']}/give-up/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "gave_up" and body["correct_choice"] == ko.correct_choice
    assert body["explanation"] == ko.explanation and [t["slug"] for t in body["terms"]] == ko.terms
    attempt = Attempt.objects.get(pk=served["attempt_id"])
    assert attempt.first_answer and attempt.reward == 0 and attempt.answered_at is not None
    # given up counts as solved: neither version is served again
    assert auth_client.get(NEXT, {"language": "en"}).status_code == 404
    # and an attempt at the twin made before cannot pay either
    late = AttemptFactory(user=user, question=en)
    assert answer(auth_client, late.pk, en.correct_choice)["reward"] == "0"
    assert not reward_entries(user).exists()


def test_giving_up_on_an_answered_attempt_changes_nothing(auth_client, user):
    ko, en = only_pair("bid-ask-spread")
    served = serve(auth_client, language="en")
    answer(auth_client, served["attempt_id"], (en.correct_choice + 1) % 4)

    body = auth_client.post(f"/api/v1/quiz/attempts/{served['attempt_id']}/give-up/").json()

    assert body["status"] == "wrong" and body["explanation"] == en.explanation
    assert Attempt.objects.get(pk=served["attempt_id"]).status == "wrong"


def test_giving_up_on_another_users_attempt_is_404_and_changes_nothing(auth_client, user):
    from tests.accounts.factories import UserFactory

    ko, _ = only_pair("gdp-definition")
    other = AttemptFactory(user=UserFactory(), question=ko)

    response = auth_client.post(f"/api/v1/quiz/attempts/{other.pk}/give-up/")

    assert response.status_code == 404
    assert "explanation" not in response.content.decode()
    other.refresh_from_db()
    assert other.status == "open" and not other.first_answer


def test_giving_up_needs_login(api_client, user):
    ko, _ = only_pair("stagflation")
    attempt = AttemptFactory(user=user, question=ko)

    assert api_client.post(f"/api/v1/quiz/attempts/{attempt.pk}/give-up/").status_code == 401
    assert Attempt.objects.get(pk=attempt.pk).status == "open"
