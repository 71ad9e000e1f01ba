"""Account writes."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.module_loading import import_string
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from core.exceptions import DomainError


@transaction.atomic
def user_create(*, username: str, email: str, password: str):
    """Create a user after Django's password validators accept ``password``.

    Raises ``django.core.exceptions.ValidationError`` keyed by field (username, email,
    password) on a taken name or address or a weak password; nothing is written then. The
    ``ACCOUNTS["ON_USER_CREATED"]`` hooks run in the same transaction (the wallets open with
    the account: a failing hook creates no user).
    """
    User = get_user_model()
    email = User.objects.normalize_email(email).strip()
    errors = {}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["A user with that username already exists."]
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = ["A user with that email already exists."]
    try:
        validate_password(password, user=User(username=username, email=email))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user = User.objects.create_user(username=username, email=email, password=password)
    user_created_hooks_run(user=user)
    return user


def user_created_hooks_run(*, user) -> None:
    """Run the ``ACCOUNTS["ON_USER_CREATED"]`` hooks for ``user`` (each called as ``f(user=...)``;
    ``trading.services.account_open`` opens the paper-trading wallets). The hooks are idempotent,
    so commands that create or reset users (``create_demo_users``) may run them again."""
    for path in settings.ACCOUNTS["ON_USER_CREATED"]:
        import_string(path)(user=user)


def user_logout(*, refresh: str) -> None:
    """Blacklist a refresh token so it can never mint an access token again.

    Raises ``DomainError`` (field ``refresh``) when the token is invalid, expired or already
    blacklisted.
    """
    try:
        RefreshToken(refresh).blacklist()
    except TokenError as exc:
        raise DomainError(str(exc), field="refresh", code="token_not_valid") from exc
