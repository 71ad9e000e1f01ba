"""Account writes."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.tokens import FAMILY_CLAIM, FamilyRefreshToken, token_family
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


def _blacklist_locked(token: FamilyRefreshToken) -> bool:
    """Blacklist ``token`` inside the caller's transaction, its outstanding row locked (``SELECT
    ... FOR UPDATE``; on SQLite the IMMEDIATE transaction holds the write lock). ``False`` when
    it was blacklisted already: of N parallel uses exactly one gets ``True``."""
    jti = token[api_settings.JTI_CLAIM]
    outstanding = OutstandingToken.objects.select_for_update().filter(jti=jti).first()
    if outstanding is None:
        token.outstand()
        outstanding = OutstandingToken.objects.select_for_update().get(jti=jti)
    if BlacklistedToken.objects.filter(token=outstanding).exists():
        return False
    BlacklistedToken.objects.create(token=outstanding)
    return True


def token_family_revoke(*, user_id, family: str) -> int:
    """Blacklist every outstanding, unexpired refresh token of ``family`` (one login) of the
    user; returns how many were live. The user's ``/ws/account/`` sockets are closed."""
    revoked = 0
    with transaction.atomic():
        live = OutstandingToken.objects.select_for_update(of=("self",)).filter(
            user_id=user_id, blacklistedtoken__isnull=True, expires_at__gt=timezone.now()
        )
        for outstanding in live:
            try:
                payload = token_backend.decode(outstanding.token, verify=False)
            except TokenBackendError:
                continue
            if token_family(payload) == family:
                BlacklistedToken.objects.get_or_create(token=outstanding)
                revoked += 1
        if user_id is not None:
            user = get_user_model().objects.filter(pk=user_id).first()
            if user is not None:
                user_logged_out_hooks_run(user=user)
    return revoked


def _revoke_family_on_reuse(raw: str) -> None:
    """A validly signed, unexpired refresh token that is already blacklisted was used again
    (replayed after its rotation, or after logout): revoke its whole family."""
    try:
        payload = token_backend.decode(raw, verify=True)
    except TokenBackendError:
        return
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh" or api_settings.JTI_CLAIM not in payload:
        return
    if BlacklistedToken.objects.filter(token__jti=payload[api_settings.JTI_CLAIM]).exists():
        token_family_revoke(user_id=payload.get(api_settings.USER_ID_CLAIM), family=token_family(payload))


def token_refresh(*, refresh: str) -> dict[str, str]:
    """Rotate a refresh token: ``{"access", "refresh"}``, the old token blacklisted.

    Atomic: of N parallel refreshes of one token exactly one succeeds. A token used after its
    rotation (or a lost parallel race, the sign of a replayed stolen token) revokes its whole
    family, the successor issued to the winner included (OAuth 2.0 security BCP, refresh token
    reuse detection). Raises ``rest_framework_simplejwt.exceptions.TokenError`` (the view
    answers 401 ``token_not_valid``) on an invalid, expired, blacklisted or reused token.
    """
    try:
        token = FamilyRefreshToken(refresh)  # signature, expiry, type, blacklist
    except TokenError:
        _revoke_family_on_reuse(refresh)
        raise
    with transaction.atomic():
        rotated = _blacklist_locked(token)
        if rotated:
            token[FAMILY_CLAIM] = token_family(token.payload)
            access = str(token.access_token)
            token.set_jti()
            token.set_exp()
            token.set_iat()
            token.outstand()
    if not rotated:
        _revoke_family_on_reuse(refresh)
        raise TokenError("Token is blacklisted")
    return {"access": access, "refresh": str(token)}


def user_logged_out_hooks_run(*, user) -> None:
    """Run the ``ACCOUNTS["ON_USER_LOGGED_OUT"]`` hooks (``f(user=...)``; trading closes the
    user's ``/ws/account/`` sockets once the transaction commits)."""
    for path in settings.ACCOUNTS.get("ON_USER_LOGGED_OUT", []):
        import_string(path)(user=user)


def user_logout(*, user, refresh: str) -> None:
    """Blacklist the caller's own refresh token so it can never mint an access token again, and
    close the user's open ``/ws/account/`` sockets.

    Raises ``DomainError`` (field ``refresh``): ``token_not_valid`` when the token is invalid,
    expired or already blacklisted, ``token_not_yours`` when it belongs to another user (nothing
    is blacklisted then).
    """
    try:
        token = FamilyRefreshToken(refresh)
    except TokenError as exc:
        raise DomainError(str(exc), field="refresh", code="token_not_valid") from exc
    if str(token.payload.get(api_settings.USER_ID_CLAIM)) != str(getattr(user, api_settings.USER_ID_FIELD)):
        raise DomainError("This refresh token belongs to another user.", field="refresh", code="token_not_yours")
    with transaction.atomic():
        if not _blacklist_locked(token):
            raise DomainError("Token is blacklisted", field="refresh", code="token_not_valid")
        user_logged_out_hooks_run(user=user)
