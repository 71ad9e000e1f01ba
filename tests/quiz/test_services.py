"""Quiz services with an explicit clock: the daily cap and its Asia/Seoul day, expiry."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from quiz import services
from quiz.models import Attempt
from tests.accounts.factories import UserFactory
from tests.quiz.conftest import krw_cash, reward_entries
from tests.quiz.factories import AttemptFactory, QuestionFactory
from trading.selectors import ledger_mismatches

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
START = Decimal("10000000")


def _answer_right(user, question, now):
    attempt = AttemptFactory(user=user, question=question, created_at=now, expires_at=now + timedelta(minutes=10))
    return services.quiz_attempt_answer(user=user, attempt_id=attempt.pk, choice=question.correct_choice, now=now)


def test_daily_cap_cuts_the_last_reward_then_pays_nothing_until_the_next_seoul_day(settings):
    settings.QUIZ = {**settings.QUIZ, "DAILY_REWARD_CAP": Decimal("100000")}
    user = UserFactory()
    hard = [QuestionFactory(difficulty=3) for _ in range(4)]  # 50,000 each
    morning = datetime(2025, 6, 17, 9, 0, tzinfo=SEOUL)

    paid = [_answer_right(user, q, morning + timedelta(minutes=i)) for i, q in enumerate(hard[:3])]
    # 23:59:59 KST is still the same day; 00:00 KST (15:00 UTC) starts the next
    late = _answer_right(user, hard[3], datetime(2025, 6, 17, 23, 59, 59, tzinfo=SEOUL))

    assert [r.reward for r in paid] == [Decimal("50000"), Decimal("50000"), Decimal("0")]
    assert paid[2].correct and paid[2].no_reward_reason == "daily_cap"
    assert late.reward == 0
    assert krw_cash(user) == START + Decimal("100000")

    next_day = QuestionFactory(difficulty=2)
    assert _answer_right(user, next_day, datetime(2025, 6, 18, 0, 0, tzinfo=SEOUL)).reward == Decimal("30000")
    assert reward_entries(user).count() == 3
    assert ledger_mismatches() == []


def test_daily_cap_pays_the_part_left_of_it(settings):
    settings.QUIZ = {**settings.QUIZ, "DAILY_REWARD_CAP": Decimal("70000")}
    user = UserFactory()
    now = datetime(2025, 6, 17, 12, 0, tzinfo=SEOUL)

    first = _answer_right(user, QuestionFactory(difficulty=3), now)
    second = _answer_right(user, QuestionFactory(difficulty=2), now + timedelta(minutes=1))

    assert (first.reward, second.reward) == (Decimal("50000"), Decimal("20000"))
    assert krw_cash(user) == START + Decimal("70000")


def test_no_cap_when_the_setting_is_none(settings):
    settings.QUIZ = {**settings.QUIZ, "DAILY_REWARD_CAP": None}
    user = UserFactory()
    now = datetime(2025, 6, 17, 12, 0, tzinfo=SEOUL)

    rewards = [_answer_right(user, QuestionFactory(difficulty=3), now).reward for _ in range(8)]

    assert sum(rewards) == Decimal("400000")


def test_an_attempt_answered_exactly_at_its_expiry_is_refused():
    user = UserFactory()
    now = datetime(2025, 6, 17, 12, 0, tzinfo=SEOUL)
    attempt = AttemptFactory(
        user=user, question=QuestionFactory(), created_at=now, expires_at=now + timedelta(minutes=10)
    )

    with pytest.raises(services.AttemptExpired):
        services.quiz_attempt_answer(user=user, attempt_id=attempt.pk, choice=1, now=now + timedelta(minutes=10))

    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.OPEN and not reward_entries(user).exists()


def test_answer_opens_the_account_of_a_user_without_wallets():
    user = UserFactory()

    result = _answer_right(user, QuestionFactory(), datetime(2025, 6, 17, 12, 0, tzinfo=SEOUL))

    assert result.cash == START + Decimal("10000") == krw_cash(user)
    assert ledger_mismatches() == []


def test_rewards_follow_the_settings_by_difficulty(settings):
    settings.QUIZ = {**settings.QUIZ, "REWARDS": {1: Decimal("1000"), 2: Decimal("2000"), 3: Decimal("3000")}}
    user = UserFactory()
    now = datetime(2025, 6, 17, 12, 0, tzinfo=SEOUL)

    assert [_answer_right(user, QuestionFactory(difficulty=d), now).reward for d in (1, 2, 3)] == [1000, 2000, 3000]


def test_question_upsert_many_leaves_equal_rows_alone_and_updates_changed_ones():
    from quiz.importers import QuestionRow

    row = QuestionRow(
        source="test",
        external_id="q1",
        text="What is 1 + 1?",
        kind="mc",
        choices=("1", "2", "3"),
        correct_choice=1,
        explanation="It is 2.",
        difficulty=1,
        category="accounting",
        language="en",
    )
    assert services.question_upsert_many(rows=[row]) == services.UpsertResult(created=1, updated=0, unchanged=0)
    assert services.question_upsert_many(rows=[row]) == services.UpsertResult(created=0, updated=0, unchanged=1)

    changed = QuestionRow(**{**row.__dict__, "explanation": "1 + 1 = 2."})
    assert services.question_upsert_many(rows=[changed]) == services.UpsertResult(created=0, updated=1, unchanged=0)
