"""Refresh tokens with a family: every token rotated from one login carries the login's id.

``FamilyRefreshToken.for_user`` starts a family (claim ``fam`` = the first token's ``jti``);
rotation (``accounts.services.token_refresh``) copies the claim into the new token. A token
issued without the claim is a family of its own (its ``jti``).
"""

from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

FAMILY_CLAIM = "fam"


def token_family(payload: dict) -> str:
    """The family id of a decoded refresh-token payload."""
    return str(payload.get(FAMILY_CLAIM) or payload[api_settings.JTI_CLAIM])


class FamilyRefreshToken(RefreshToken):
    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[FAMILY_CLAIM] = token[api_settings.JTI_CLAIM]
        # the outstanding row was written before the claim: store the token as issued
        OutstandingToken.objects.filter(jti=token[api_settings.JTI_CLAIM]).update(token=str(token))
        return token
