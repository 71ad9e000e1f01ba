from datetime import timedelta

import factory
from django.utils import timezone

from quiz.models import Attempt, Question


class QuestionFactory(factory.django.DjangoModelFactory):
    """A four-choice English markets question, difficulty 1 (10,000 KRW); the right choice is 1."""

    class Meta:
        model = Question

    text = factory.Sequence(lambda n: f"Test question {n}: which order type fills at once?")
    kind = Question.Kind.MULTIPLE_CHOICE
    choices = factory.LazyFunction(
        lambda: ["A limit order below the bid", "A market order", "A stop order", "No order"]
    )
    correct_choice = 1
    explanation = factory.Sequence(lambda n: f"Explanation {n}: a market order takes the book at once.")
    hint = factory.Sequence(lambda n: f"Hint {n}: which order type names no price?")
    terms = factory.LazyFunction(lambda: ["market-order"])
    difficulty = 1
    category = "markets"
    language = "en"
    source = "test"
    external_id = factory.Sequence(lambda n: f"test-{n}")


class AttemptFactory(factory.django.DjangoModelFactory):
    """An open attempt served now, expiring in 10 minutes."""

    class Meta:
        model = Attempt

    question = factory.SubFactory(QuestionFactory)
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda a: a.created_at + timedelta(minutes=10))
