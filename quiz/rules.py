"""Pure quiz rules, no Django: what a valid question looks like, what an answer pays, which
day a reward counts against, and streaks. Services and importers call these so one rule
has one home (and can be tested alone)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from core.timeparse import SEOUL

# The reward day follows the users' calendar (Korea), not UTC: the cap resets at midnight KST.

KIND_OX = "ox"
KIND_MULTIPLE_CHOICE = "mc"
OX_CHOICES = 2
MC_MIN_CHOICES, MC_MAX_CHOICES = 3, 5
DIFFICULTIES = (1, 2, 3)
# the values of quiz.models.Category and Language (a test keeps them equal)
CATEGORIES = (
    "markets",
    "investing",
    "crypto",
    "macroeconomics",
    "microeconomics",
    "accounting",
    "econometrics",
    "business",
)
LANGUAGES = ("ko", "en")
MAX_CHOICE_LENGTH = 500


def question_problems(
    *,
    text: str,
    kind: str,
    choices: object,
    correct_choice: object,
    explanation: str,
    difficulty: object,
    category: str,
    language: str,
) -> dict[str, str]:
    """Every way a question is malformed, as ``{field: message}`` (empty when valid).

    ``choices`` must be a list of non-blank strings: exactly 2 for O/X (``kind == "ox"``:
    index 0 is O/true, 1 is X/false), 3 to 5 for multiple choice (``"mc"``); ``correct_choice``
    a 0-based index into it; ``difficulty`` 1..3; ``category`` one of ``CATEGORIES``;
    ``language`` one of ``LANGUAGES``; text and explanation non-blank.
    """
    problems: dict[str, str] = {}
    if category not in CATEGORIES:
        problems["category"] = f"Must be one of {', '.join(CATEGORIES)}."
    if language not in LANGUAGES:
        problems["language"] = f"Must be one of {', '.join(LANGUAGES)}."
    if not isinstance(text, str) or not text.strip():
        problems["text"] = "The question text is required."
    if not isinstance(explanation, str) or not explanation.strip():
        problems["explanation"] = "An explanation is required (it is the hint after a wrong answer)."
    if isinstance(difficulty, bool) or difficulty not in DIFFICULTIES:
        problems["difficulty"] = "Must be 1, 2 or 3."
    if kind not in (KIND_OX, KIND_MULTIPLE_CHOICE):
        problems["kind"] = f"Must be {KIND_OX!r} or {KIND_MULTIPLE_CHOICE!r}."
    if not isinstance(choices, list) or not all(isinstance(c, str) and c.strip() for c in choices):
        problems["choices"] = "Must be a list of non-blank texts."
        return problems
    if any(len(c) > MAX_CHOICE_LENGTH for c in choices):
        problems["choices"] = f"A choice may have at most {MAX_CHOICE_LENGTH} characters."
    elif kind == KIND_OX and len(choices) != OX_CHOICES:
        problems["choices"] = "An O/X question has exactly two choices (O, X)."
    elif kind == KIND_MULTIPLE_CHOICE and not MC_MIN_CHOICES <= len(choices) <= MC_MAX_CHOICES:
        problems["choices"] = f"A multiple-choice question has {MC_MIN_CHOICES} to {MC_MAX_CHOICES} choices."
    elif len({c.strip() for c in choices}) != len(choices):
        problems["choices"] = "Choices must differ from each other."
    if (
        isinstance(correct_choice, bool)
        or not isinstance(correct_choice, int)
        or not 0 <= correct_choice < len(choices)
    ):
        problems["correct_choice"] = f"Must be the 0-based index of one of the {len(choices)} choices."
    return problems


def answer_reward(
    *, correct: bool, first_answer: bool, full_reward: Decimal, remaining_today: Decimal | None
) -> Decimal:
    """KRW paid for one answer: the question's reward for a right FIRST answer by this user,
    cut to what is left of today's cap (``None`` = no cap); 0 otherwise.

    Only the first answer can pay because a wrong answer reveals the explanation: paying a
    retry would let anyone answer wrong on purpose, read the hint, then collect.
    """
    if not (correct and first_answer):
        return Decimal(0)
    if remaining_today is None:
        return Decimal(full_reward)
    return max(Decimal(0), min(Decimal(full_reward), Decimal(remaining_today)))


def reward_day(moment: datetime) -> date:
    """The Asia/Seoul calendar day of a tz-aware moment."""
    return moment.astimezone(SEOUL).date()


def reward_day_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of the Asia/Seoul day containing ``moment``, as tz-aware datetimes."""
    start = datetime.combine(reward_day(moment), time(0), tzinfo=SEOUL)
    return start, start + timedelta(days=1)


def streaks(outcomes: Sequence[bool]) -> tuple[int, int]:
    """``(current, best)`` runs of right answers in ``outcomes`` (oldest first)."""
    current = best = 0
    for right in outcomes:
        current = current + 1 if right else 0
        best = max(best, current)
    return current, best


def day_streak(days: Iterable[date], *, today: date) -> int:
    """Consecutive days up to today with at least one right answer. A streak still counts
    before today's first answer (it ends only when a whole day passes without one)."""
    seen = set(days)
    day = today if today in seen else today - timedelta(days=1)
    count = 0
    while day in seen:
        count += 1
        day -= timedelta(days=1)
    return count


# --- hints and twins -----------------------------------------------------------------------

# Words that give an O/X question's verdict away; a hint must use none of them (either verdict).
_OX_VERDICTS = re.compile(
    r"(?<![A-Za-z])(?:O|X)(?![A-Za-z])|\b(?:true|false|correct|incorrect|wrong)\b"
    r"|맞습니다|맞다|틀립니다|틀렸습니다|틀리다|옳습니다|옳다|사실입니다|거짓|정답",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Text compared for containment: NFKC, case-folded, every run of non-word characters
    (spaces, punctuation, ±, %) removed, so "1,210,000 KRW" and "1210000krw" compare equal."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def hint_problems(*, hint: str, kind: str, choices: Sequence[str], correct_choice: int, explanation: str) -> list[str]:
    """Why a hint would give its question's answer away (empty when it does not).

    A multiple-choice hint must not contain the correct choice's text (``normalise``d); an
    O/X hint must not state a verdict (O, X, true/false, 맞습니다/틀립니다 ...); and a hint is
    not its explanation (the explanation states the answer and is shown only afterwards).
    """
    problems = []
    if not hint.strip():
        return problems
    if normalise(hint) == normalise(explanation):
        problems.append("The hint must differ from the explanation.")
    if kind == KIND_OX:
        found = _OX_VERDICTS.search(hint)
        if found:
            problems.append(f"An O/X hint must not state a verdict ({found.group(0)!r}).")
    elif 0 <= correct_choice < len(choices) and normalise(choices[correct_choice]) in normalise(hint):
        problems.append(f"The hint contains the answer {choices[correct_choice]!r}.")
    return problems


def twin_key(*, source: str, external_id: str, group: str = "") -> str:
    """The key that makes language versions one question: ``"<source>:<group>"`` for a bank
    entry's ko/en twins (``group`` = the entry id), else ``"<source>:<external_id>"``."""
    return f"{source}:{group or external_id}"
