"""Pure quiz rules (no database)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from quiz import rules
from quiz.models import Category, Language

VALID = {
    "text": "Is KRX open at 10:00 KST on a trading day?",
    "kind": "ox",
    "choices": ["O", "X"],
    "correct_choice": 0,
    "explanation": "Yes: 09:00-15:30.",
    "difficulty": 1,
    "category": "markets",
    "language": "en",
}


def test_a_valid_question_has_no_problems():
    assert rules.question_problems(**VALID) == {}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"choices": ["O", "X", "maybe"]}, "choices"),  # O/X has exactly two
        ({"kind": "mc", "choices": ["a", "b"]}, "choices"),  # multiple choice has 3..5
        ({"kind": "mc", "choices": ["a", "b", "c", "d", "e", "f"]}, "choices"),
        ({"choices": ["O", " "]}, "choices"),
        ({"choices": ["O", "O"]}, "choices"),
        ({"choices": "O,X"}, "choices"),
        ({"correct_choice": 2}, "correct_choice"),
        ({"correct_choice": True}, "correct_choice"),
        ({"difficulty": 4}, "difficulty"),
        ({"category": "astrology"}, "category"),
        ({"language": "fr"}, "language"),
        ({"explanation": "  "}, "explanation"),
        ({"text": ""}, "text"),
        ({"kind": "essay"}, "kind"),
    ],
)
def test_malformed_questions_name_the_field(change, field):
    assert field in rules.question_problems(**{**VALID, **change})


def test_the_models_choices_match_the_rules():
    assert set(Category.values) == set(rules.CATEGORIES) and set(Language.values) == set(rules.LANGUAGES)


@pytest.mark.parametrize(
    "correct, first, remaining, paid",
    [
        (True, True, None, "50000"),
        (True, True, Decimal("80000"), "50000"),
        (True, True, Decimal("20000"), "20000"),
        (True, True, Decimal("0"), "0"),
        (True, False, None, "0"),  # a retry never pays
        (False, True, None, "0"),
    ],
)
def test_answer_reward(correct, first, remaining, paid):
    assert rules.answer_reward(
        correct=correct, first_answer=first, full_reward=Decimal("50000"), remaining_today=remaining
    ) == Decimal(paid)


def test_the_reward_day_turns_at_midnight_in_seoul():
    start, end = rules.reward_day_bounds(datetime(2025, 6, 17, 14, 59, tzinfo=UTC))  # 23:59 KST

    assert start == datetime(2025, 6, 16, 15, 0, tzinfo=UTC) and end == datetime(2025, 6, 17, 15, 0, tzinfo=UTC)
    assert rules.reward_day(datetime(2025, 6, 17, 15, 0, tzinfo=UTC)) == date(2025, 6, 18)


def test_streaks():
    assert rules.streaks([]) == (0, 0)
    assert rules.streaks([True, True, True, False, True]) == (1, 3)
    assert rules.streaks([False, True, True]) == (2, 2)


def test_day_streak_counts_back_from_today_or_yesterday():
    today = date(2025, 6, 17)
    days = [date(2025, 6, 14), date(2025, 6, 15), date(2025, 6, 16)]

    assert rules.day_streak(days, today=today) == 3  # not yet broken: today has not passed
    assert rules.day_streak([*days, today], today=today) == 4
    assert rules.day_streak([date(2025, 6, 15)], today=today) == 0
