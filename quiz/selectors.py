"""Quiz reads: questions a user may be served, what an answer would pay now, stats, accuracy."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from quiz import rules
from quiz.models import Attempt, Question


def question_candidates(
    *, user, difficulty: int | None = None, category: str | None = None, language: str | None = None
) -> QuerySet[Question]:
    """Active questions matching the filters (``None`` = any) that ``user`` has not solved yet:
    not answered correctly, nor given up, in either language (twins share ``twin_key``)."""
    qs = Question.objects.filter(active=True)
    if difficulty is not None:
        qs = qs.filter(difficulty=difficulty)
    if category:
        qs = qs.filter(category=category)
    if language:
        qs = qs.filter(language=language)
    solved = Attempt.objects.filter(user=user, status__in=[Attempt.Status.CORRECT, Attempt.Status.GAVE_UP]).values(
        "twin_key"
    )
    return qs.exclude(twin_key__in=solved)


def rewards_on_day(*, user, now: datetime) -> Decimal:
    """KRW the user earned from the quiz on the Asia/Seoul day containing ``now``."""
    start, end = rules.reward_day_bounds(now)
    total = Attempt.objects.filter(user=user, answered_at__gte=start, answered_at__lt=end, reward__gt=0).aggregate(
        t=Sum("reward")
    )["t"]
    return total or Decimal(0)


def reward_remaining_today(*, user, now: datetime) -> Decimal | None:
    """What is left of today's cap (never below 0), or ``None`` without a cap."""
    cap = settings.QUIZ["DAILY_REWARD_CAP"]
    if cap is None:
        return None
    return max(Decimal(0), Decimal(cap) - rewards_on_day(user=user, now=now))


def attempt_reward_preview(*, attempt: Attempt, now: datetime) -> Decimal:
    """KRW a right answer to this attempt would pay if given now (0 after an earlier answer
    to the same question or its other-language twin, or with today's cap used up)."""
    answered_before = Attempt.objects.filter(
        user_id=attempt.user_id, twin_key=attempt.twin_key, first_answer=True
    ).exists()
    return rules.answer_reward(
        correct=True,
        first_answer=not answered_before,
        full_reward=attempt.question.reward,
        remaining_today=reward_remaining_today(user=attempt.user, now=now),
    )


@dataclass
class CategoryStats:
    category: str
    answered: int
    correct: int


@dataclass
class QuizStats:
    answered: int  # answers given (right + wrong + given up)
    correct: int
    accuracy: Decimal | None  # correct / answered, 4 places; None before the first answer
    questions_solved: int  # distinct questions answered right (language twins count once)
    earned_total: Decimal  # KRW
    earned_today: Decimal  # KRW, Asia/Seoul day
    daily_cap: Decimal | None
    remaining_today: Decimal | None
    streak: int  # right answers in a row up to the latest answer
    best_streak: int
    day_streak: int  # days in a row (Asia/Seoul) with at least one right answer
    by_category: list[CategoryStats]


def quiz_stats(*, user, now: datetime) -> QuizStats:
    """The user's accuracy, earnings and streaks."""
    answered = Attempt.objects.filter(user=user, status__in=Attempt.ANSWERED)
    outcomes = list(answered.order_by("answered_at", "pk").values_list("status", "answered_at"))
    correct = sum(1 for status, _ in outcomes if status == Attempt.Status.CORRECT)
    current, best = rules.streaks([status == Attempt.Status.CORRECT for status, _ in outcomes])
    right_days = {rules.reward_day(when) for status, when in outcomes if status == Attempt.Status.CORRECT}
    by_category = [
        CategoryStats(category=row["question__category"], answered=row["answered"], correct=row["correct"])
        for row in answered.values("question__category")
        .annotate(answered=Count("pk"), correct=Count("pk", filter=Q(status=Attempt.Status.CORRECT)))
        .order_by("question__category")
    ]
    cap = settings.QUIZ["DAILY_REWARD_CAP"]
    return QuizStats(
        answered=len(outcomes),
        correct=correct,
        accuracy=(Decimal(correct) / Decimal(len(outcomes))).quantize(Decimal("0.0001")) if outcomes else None,
        questions_solved=answered.filter(status=Attempt.Status.CORRECT).values("twin_key").distinct().count(),
        earned_total=answered.aggregate(t=Sum("reward"))["t"] or Decimal(0),
        earned_today=rewards_on_day(user=user, now=now),
        daily_cap=cap,
        remaining_today=reward_remaining_today(user=user, now=now),
        streak=current,
        best_streak=best,
        day_streak=rules.day_streak(right_days, today=rules.reward_day(now)),
        by_category=by_category,
    )


def question_list_with_accuracy() -> QuerySet[Question]:
    """All questions annotated with ``answered`` and ``correct_answers`` counts (admin)."""
    return Question.objects.annotate(
        answered=Count("attempts", filter=Q(attempts__status__in=Attempt.ANSWERED)),
        correct_answers=Count("attempts", filter=Q(attempts__status=Attempt.Status.CORRECT)),
    )


def attempt_list(*, user) -> QuerySet[Attempt]:
    return Attempt.objects.filter(user=user).select_related("question")
