"""Quiz writes: serving a question (an attempt), answering it, importing questions.

How the quiz cannot be farmed
-----------------------------
- The question is fixed when it is served (``quiz_attempt_start``); the answer names the
  attempt, never a question, and the payload never carries the answer or the explanation -
  only the hint, which points to the concept without stating the answer (``rules.hint_problems``
  checks every bank question). The explanation comes after a right answer, or when the user
  gives up (``quiz_attempt_give_up``, which counts as the first answer and pays nothing).
- The Korean and English versions of a question are one question (``twin_key``): one first
  answer, one reward, one solved state between them.
- An attempt takes one answer, before it expires (``QUIZ["ATTEMPT_TTL_SECONDS"]``).
- Only a user's first answer to a question (or its twin) can pay, and only if it is right: a
  wrong answer narrows the choices, so a paid retry would let anyone collect every reward by
  answering wrong first. Retrying teaches but pays nothing. The database enforces it too
  (one ``first_answer`` per user and twin pair; ``reward > 0`` only on a right first answer).
- Rewards per user per Asia/Seoul day stop at ``QUIZ["DAILY_REWARD_CAP"]``; the API throttles
  answers and served questions per user.

Concurrency and lock order
--------------------------
``quiz_attempt_answer`` locks the user's KRW wallet first (the platform's rule: wallet, then
everything else, see ``trading.locks``), then the attempt row, and only then reads the state
it decides on (attempt still open? first answer? today's rewards so far?). Every answer of a
user therefore queues behind the same wallet lock, so two concurrent answers - to one attempt,
to two attempts at one question, or to different questions near the daily cap - see each
other's committed result instead of both paying. The credit (``trading.services.wallet_credit``,
which re-takes the lock it already holds) and closing the attempt commit in one transaction.
Locking the attempt first and the wallet second would break the platform's one order: any
write that takes the wallet and then an attempt (say, reversing a reward) could then deadlock
with an answer. On SQLite (no row locks) IMMEDIATE transactions serialize the writers.
Two database guards stand behind the locks: the attempt is closed by compare-and-swap
(``status=open`` -> closed, exactly one row) before anything is credited, and the unique
``first_answer`` index refuses a second paying answer to one question.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from random import randrange

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from accounts.events import QUIZ_DAILY_CAP, account_event
from core.exceptions import DomainError
from core.money import quantize_received
from quiz import rules, selectors
from quiz.importers import QuestionRow
from quiz.models import Attempt, Question
from trading import services as trading_services
from trading.locks import wallet_qs_select_for_update
from trading.models import CashEntry, Currency, Wallet

REWARD_CURRENCY = Currency.KRW


class InvalidChoice(DomainError):
    code = "invalid_choice"


class AttemptNotFound(DomainError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND


class AttemptClosed(DomainError):
    code = "attempt_closed"
    status_code = status.HTTP_409_CONFLICT


class AttemptExpired(DomainError):
    code = "attempt_expired"
    status_code = status.HTTP_409_CONFLICT


class NoQuestionLeft(DomainError):
    code = "no_question"
    status_code = status.HTTP_404_NOT_FOUND


def _config() -> dict:
    return settings.QUIZ


# --- serving -----------------------------------------------------------------------------


@transaction.atomic
def quiz_attempt_start(
    *,
    user,
    difficulty: int | None = None,
    category: str | None = None,
    language: str | None = None,
    now: datetime | None = None,
) -> Attempt:
    """Serve the user an active question matching the filters that they have not answered
    correctly yet, as an open attempt expiring after ``QUIZ["ATTEMPT_TTL_SECONDS"]``.

    Questions never answered come first, at random; when none is left, ones answered wrong
    before (they teach, but pay nothing). A question already served and still open is served
    again with the same attempt rather than a second one. The user's stale open attempts are
    marked expired on the way. Raises ``NoQuestionLeft`` (404) when nothing matches.
    """
    now = now or timezone.now()
    Attempt.objects.filter(user=user, status=Attempt.Status.OPEN, expires_at__lte=now).update(
        status=Attempt.Status.EXPIRED
    )
    candidates = selectors.question_candidates(user=user, difficulty=difficulty, category=category, language=language)
    answered = Attempt.objects.filter(user=user, status__in=Attempt.ANSWERED).values("twin_key")
    question = _pick(candidates.exclude(twin_key__in=answered)) or _pick(candidates)
    if question is None:
        raise NoQuestionLeft("No question left for these filters: you have answered them all correctly.")
    attempt = (
        Attempt.objects.filter(user=user, question=question, status=Attempt.Status.OPEN).order_by("-expires_at").first()
    )
    if attempt is None:
        attempt = Attempt.objects.create(
            user=user,
            question=question,
            twin_key=question.twin_key,
            created_at=now,
            expires_at=now + timedelta(seconds=_config()["ATTEMPT_TTL_SECONDS"]),
        )
    attempt.question = question
    return attempt


def _pick(questions):
    """A uniformly random question of a queryset (count + offset: no ORDER BY random())."""
    count = questions.count()
    return questions.order_by("pk")[randrange(count)] if count else None


# --- answering ---------------------------------------------------------------------------


@dataclass
class AnswerResult:
    attempt: Attempt
    correct: bool
    reward: Decimal  # KRW credited by this answer (0 when nothing was paid)
    text: str  # right: the explanation (states the answer); wrong: the hint (never the answer)
    cash: Decimal  # the KRW wallet's cash after the answer
    no_reward_reason: str | None  # why a right answer paid 0: "answered_before" | "daily_cap"


def _lock_reward_wallet(user) -> Wallet:
    wallet = wallet_qs_select_for_update(user_id=user.pk, currency=REWARD_CURRENCY).first()
    if wallet is None:  # a user made outside registration: open the account first (idempotent)
        trading_services.account_open(user=user)
        wallet = wallet_qs_select_for_update(user_id=user.pk, currency=REWARD_CURRENCY).get()
    return wallet


@transaction.atomic
def quiz_attempt_answer(*, user, attempt_id: int, choice: int, now: datetime | None = None) -> AnswerResult:
    """Answer one of the user's attempts with ``choice`` (0-based index into its choices).

    Right and the user's first answer to this question: pays the question's reward in KRW
    (cut to what is left of today's cap) through ``trading.services.wallet_credit`` as a
    ``quiz_reward`` ledger entry, in the same transaction that closes the attempt. Wrong: the
    attempt closes and the hint comes back (never the explanation: that is for a right answer
    or ``quiz_attempt_give_up``). Either way the attempt takes no further answer. The Korean
    and English versions share one first answer (``twin_key``), so the twin of a question
    answered before pays nothing.

    Raises ``AttemptNotFound`` (404; also for another user's attempt), ``InvalidChoice`` (400,
    field ``choice``), ``AttemptExpired`` / ``AttemptClosed`` (409). Nothing is written then.
    Lock order: the KRW wallet, then the attempt (see the module doc).
    """
    now = now or timezone.now()
    attempt = Attempt.objects.select_related("question").filter(pk=attempt_id, user=user).first()
    if attempt is None:
        raise AttemptNotFound("No attempt of yours with this id.")
    question = attempt.question
    if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < len(question.choices):
        raise InvalidChoice(f"Must be the 0-based index of one of the {len(question.choices)} choices.", field="choice")

    wallet = _lock_reward_wallet(user)
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.is_expired(now):
        raise AttemptExpired("This attempt has expired; ask for the next question.")
    if attempt.status != Attempt.Status.OPEN:
        raise AttemptClosed("This attempt was already answered; ask for the next question.")

    correct = choice == question.correct_choice
    first_answer = not Attempt.objects.filter(user=user, twin_key=attempt.twin_key, first_answer=True).exists()
    remaining = selectors.reward_remaining_today(user=user, now=now)
    reward = rules.answer_reward(
        correct=correct, first_answer=first_answer, full_reward=question.reward, remaining_today=remaining
    )
    reward = quantize_received(reward, REWARD_CURRENCY)  # whole won, rounded down

    closed = {
        "status": Attempt.Status.CORRECT if correct else Attempt.Status.WRONG,
        "choice": choice,
        "answered_at": now,
        "first_answer": first_answer,
        "reward": reward,
    }
    # Close by compare-and-swap before paying: under the locks it always succeeds, and should
    # a future path ever skip them, an attempt still closes (and pays) only once.
    if Attempt.objects.filter(pk=attempt.pk, status=Attempt.Status.OPEN).update(**closed) != 1:
        raise AttemptClosed("This attempt was already answered; ask for the next question.")
    for name, value in closed.items():
        setattr(attempt, name, value)
    cash = wallet.cash
    if reward > 0:
        entry = trading_services.wallet_credit(
            user=user,
            currency=REWARD_CURRENCY,
            amount=reward,
            kind=CashEntry.Kind.QUIZ_REWARD,
            reference=f"quiz attempt {attempt.pk}",
        )
        Attempt.objects.filter(pk=attempt.pk).update(cash_entry=entry)
        attempt.cash_entry, cash = entry, entry.balance_after
    attempt.question = question
    if reward > 0 and remaining is not None and reward >= remaining:
        account_event(
            user_id=user.pk,
            event=QUIZ_DAILY_CAP,
            text=f"퀴즈 오늘 한도 도달 · Quiz daily cap reached: {int(settings.QUIZ['DAILY_REWARD_CAP']):,} KRW",
        )

    reason = None
    if correct and reward == 0:
        reason = "answered_before" if not first_answer else "daily_cap"
    return AnswerResult(
        attempt=attempt,
        correct=correct,
        reward=reward,
        text=question.explanation if correct else question.hint,
        cash=cash,
        no_reward_reason=reason,
    )


@dataclass
class GiveUpResult:
    attempt: Attempt
    correct_choice: int
    explanation: str


@transaction.atomic
def quiz_attempt_give_up(*, user, attempt_id: int, now: datetime | None = None) -> GiveUpResult:
    """Show the answer and explanation of one of the user's attempts.

    An attempt not answered yet (open, or expired unanswered) closes as ``gave_up``: it takes
    no answer afterwards and, when it is the user's first answer to this question or its twin,
    it is that first answer, so neither language version can pay any more (reward 0). An
    attempt already answered (right or wrong) or given up changes nothing. Raises
    ``AttemptNotFound`` (404; also for another user's attempt). Same lock order as answering.
    """
    now = now or timezone.now()
    if not Attempt.objects.filter(pk=attempt_id, user=user).exists():
        raise AttemptNotFound("No attempt of yours with this id.")
    _lock_reward_wallet(user)
    attempt = Attempt.objects.select_for_update().select_related("question").get(pk=attempt_id)
    if attempt.status in (Attempt.Status.OPEN, Attempt.Status.EXPIRED):
        first_answer = not Attempt.objects.filter(user=user, twin_key=attempt.twin_key, first_answer=True).exists()
        closed = {"status": Attempt.Status.GAVE_UP, "answered_at": now, "first_answer": first_answer}
        if Attempt.objects.filter(pk=attempt.pk, status=attempt.status).update(**closed) != 1:
            raise AttemptClosed("This attempt changed meanwhile; ask again.")
        for name, value in closed.items():
            setattr(attempt, name, value)
    question = attempt.question
    return GiveUpResult(attempt=attempt, correct_choice=question.correct_choice, explanation=question.explanation)


# --- the bank ----------------------------------------------------------------------------


@dataclass
class UpsertResult:
    created: int
    updated: int
    unchanged: int


_ROW_FIELDS = (
    "text",
    "hint",
    "terms",
    "twin_key",
    "kind",
    "choices",
    "correct_choice",
    "explanation",
    "difficulty",
    "category",
    "language",
    "attribution",
    "licence",
)


def _values(row: QuestionRow) -> dict:
    values = {name: getattr(row, name) for name in _ROW_FIELDS}
    values["choices"] = list(row.choices)
    values["terms"] = list(row.terms)
    return values


@transaction.atomic
def question_upsert_many(*, rows: list[QuestionRow]) -> UpsertResult:
    """Insert or update questions on their natural key ``(source, external_id)``; rows equal
    to what is stored are left alone, so a second run of the same file changes nothing.
    ``active`` is never touched (an operator's choice survives re-imports)."""
    by_key = {row.key: row for row in rows}
    sources = {source for source, _ in by_key}
    existing = {
        (q.source, q.external_id): q
        for q in Question.objects.filter(source__in=sources, external_id__in=[external_id for _, external_id in by_key])
    }
    now = timezone.now()
    new, changed = [], []
    for key, row in by_key.items():
        values = _values(row)
        question = existing.get(key)
        if question is None:
            new.append(Question(source=row.source, external_id=row.external_id, **values))
        elif any(getattr(question, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(question, name, value)
            question.updated_at = now
            changed.append(question)
    Question.objects.bulk_create(new, batch_size=500)
    Question.objects.bulk_update(changed, [*_ROW_FIELDS, "updated_at"], batch_size=500)
    return UpsertResult(created=len(new), updated=len(changed), unchanged=len(by_key) - len(new) - len(changed))


@transaction.atomic
def questions_set_active(*, question_ids, active: bool) -> int:
    """Turn questions on or off for serving; returns how many changed."""
    return (
        Question.objects.filter(pk__in=list(question_ids))
        .exclude(active=active)
        .update(active=active, updated_at=timezone.now())
    )
