"""Account writes."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from core.exceptions import DomainError


@transaction.atomic
def user_create(*, username: str, email: str, password: str):
    """Create a user after Django's password validators accept ``password``.

    Raises ``django.core.exceptions.ValidationError`` keyed by field (username, email,
    password) on a taken name or address or a weak password; nothing is written then.
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
    return User.objects.create_user(username=username, email=email, password=password)


def user_logout(*, refresh: str) -> None:
    """Blacklist a refresh token so it can never mint an access token again.

    Raises ``DomainError`` (field ``refresh``) when the token is invalid, expired or already
    blacklisted.
    """
    try:
        RefreshToken(refresh).blacklist()
    except TokenError as exc:
        raise DomainError(str(exc), field="refresh", code="token_not_valid") from exc
