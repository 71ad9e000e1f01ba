from decimal import Decimal

import pytest

from quiz.models import Question
from trading.models import CashEntry, Wallet


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # users here never log in with a password; PBKDF2 would cost ~1 s per user
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def empty_bank(db):
    """No questions but the test's own: the data migration loads the shipped bank, and a
    random pick must not land on it."""
    Question.objects.all().delete()


def krw_cash(user) -> Decimal:
    wallet = Wallet.objects.filter(user=user, currency="KRW").first()
    return wallet.cash if wallet else Decimal(0)


def reward_entries(user):
    return CashEntry.objects.filter(wallet__user=user, kind=CashEntry.Kind.QUIZ_REWARD)
