"""Quiz: a bilingual question bank and the attempts users make at it.

Invariants the database enforces (not only the services):

- a question is unique on its natural key ``(source, external_id)``, so imports are upserts;
- per user and question at most one attempt is the ``first_answer`` (the first one answered);
- an attempt pays (``reward > 0``) only if it is that first answer and it was right, so a
  question pays a user at most once, ever.

Writes happen in ``quiz.services``.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.fields import MoneyField
from quiz import rules


class Category(models.TextChoices):
    MARKETS = "markets", "Markets"
    INVESTING = "investing", "Investing"
    CRYPTO = "crypto", "Crypto"
    MACROECONOMICS = "macroeconomics", "Macroeconomics"
    MICROECONOMICS = "microeconomics", "Microeconomics"
    ACCOUNTING = "accounting", "Accounting"
    # for the imported MMLU subjects that fit none of the above
    ECONOMETRICS = "econometrics", "Econometrics"
    BUSINESS = "business", "Business (marketing, management, ethics)"


class Language(models.TextChoices):
    KO = "ko", "한국어"
    EN = "en", "English"


class Question(models.Model):
    """One question. ``choices`` is a list of texts shown in order; ``correct_choice`` is the
    0-based index of the right one. O/X questions have exactly two choices (O first, X second),
    multiple-choice ones three to five. ``hint`` is served with the question: it points to the
    concept (and ``terms``, glossary slugs, see ``quiz/data/glossary.json``) without stating the
    answer; ``explanation`` states the answer and is shown only after a right answer or when
    the user gives up. ``twin_key`` (``rules.twin_key``) is shared by the language versions of
    one question: they are one question for rewards and for the "answered" state. The reward
    is not stored: it is
    ``settings.QUIZ["REWARDS"][difficulty]`` KRW, so operators can re-price by difficulty."""

    class Kind(models.TextChoices):
        OX = rules.KIND_OX, "O/X"
        MULTIPLE_CHOICE = rules.KIND_MULTIPLE_CHOICE, "Multiple choice"

    class Difficulty(models.IntegerChoices):
        EASY = 1, "1 easy"
        MEDIUM = 2, "2 medium"
        HARD = 3, "3 hard"

    text = models.TextField()
    kind = models.CharField(max_length=2, choices=Kind.choices, default=Kind.MULTIPLE_CHOICE)
    choices = models.JSONField(default=list, help_text="list of choice texts: 2 for O/X, 3 to 5 for multiple choice")
    correct_choice = models.PositiveSmallIntegerField(help_text="0-based index into choices")
    explanation = models.TextField(help_text="states the answer: shown after a right answer or when the user gives up")
    hint = models.TextField(blank=True, help_text="served with the question; points to the concept, never the answer")
    terms = models.JSONField(default=list, blank=True, help_text="glossary slugs the hint and explanation refer to")
    twin_key = models.CharField(
        max_length=140, db_index=True, help_text='"<source>:<id>" shared by the language versions of one question'
    )
    difficulty = models.PositiveSmallIntegerField(choices=Difficulty.choices, default=Difficulty.EASY)
    category = models.CharField(max_length=20, choices=Category.choices)
    language = models.CharField(max_length=2, choices=Language.choices)
    source = models.CharField(
        max_length=30, help_text='where the question comes from, e.g. "tradesite" (original) or "mmlu"'
    )
    external_id = models.CharField(
        max_length=100, help_text="the question's id within its source (natural key with source)"
    )
    attribution = models.CharField(max_length=300, blank=True, help_text="credit line for imported questions")
    licence = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True, help_text="inactive questions are never served")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="quiz_question_natural_key"),
            models.CheckConstraint(
                condition=Q(difficulty__gte=1) & Q(difficulty__lte=3), name="quiz_question_difficulty_1_3"
            ),
            models.CheckConstraint(
                condition=Q(correct_choice__lt=rules.MC_MAX_CHOICES), name="quiz_question_correct_choice_range"
            ),
        ]
        indexes = [
            models.Index(fields=["active", "language", "category", "difficulty"], name="quiz_question_serving_idx")
        ]

    def __str__(self) -> str:
        return f"[{self.language} {self.category} {self.difficulty}] {self.text[:60]}"

    def save(self, *args, **kwargs):
        if not self.twin_key:  # a question made by hand or a factory is its own twin
            self.twin_key = rules.twin_key(source=self.source, external_id=self.external_id)
        super().save(*args, **kwargs)

    @property
    def reward(self) -> Decimal:
        """KRW paid for a right first answer (before the daily cap)."""
        return Decimal(settings.QUIZ["REWARDS"][self.difficulty])


class Attempt(models.Model):
    """A question served to a user, answered at most once before ``expires_at``.

    ``status``: open -> correct | wrong (answered) | gave_up (the user asked for the answer) or
    expired. ``twin_key`` copies the question's, so the language versions of one question
    share one answered state. ``first_answer`` marks the first answered (or given-up) attempt
    of this user at this question or its twin; only that one can pay. ``reward`` is the
    KRW paid (0 when wrong, not the first answer, or over the daily cap) and ``cash_entry``
    the wallet ledger entry that paid it.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CORRECT = "correct", "Correct"
        WRONG = "wrong", "Wrong"
        EXPIRED = "expired", "Expired"
        GAVE_UP = "gave_up", "Gave up"

    ANSWERED = (Status.CORRECT, Status.WRONG, Status.GAVE_UP)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="attempts")
    twin_key = models.CharField(max_length=140, help_text="the question's twin_key")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    choice = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0-based index the user answered")
    first_answer = models.BooleanField(default=False)
    reward = MoneyField(default=0, help_text="KRW paid")
    cash_entry = models.OneToOneField(
        "trading.CashEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="quiz_attempt"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "twin_key"], condition=Q(first_answer=True), name="quiz_attempt_one_first_answer_twins"
            ),
            models.CheckConstraint(
                condition=Q(reward=0) | Q(reward__gt=0, first_answer=True, status="correct"),
                name="quiz_attempt_pays_only_first_right_answer",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "expired"], choice__isnull=True, answered_at__isnull=True)
                | Q(status__in=["correct", "wrong"], choice__isnull=False, answered_at__isnull=False)
                | Q(status="gave_up", choice__isnull=True, answered_at__isnull=False),
                name="quiz_attempt_answered_iff_closed_v2",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="quiz_attempt_user_status_idx"),
            models.Index(fields=["user", "answered_at"], name="quiz_attempt_user_answered_idx"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk} {self.user} q{self.question_id} {self.status}"

    def save(self, *args, **kwargs):
        if not self.twin_key:
            self.twin_key = self.question.twin_key
        super().save(*args, **kwargs)

    def is_expired(self, now) -> bool:
        return self.status == self.Status.EXPIRED or (self.status == self.Status.OPEN and now >= self.expires_at)
