"""JWT authentication for WebSockets: ``/ws/account/?token=<access token>``.

Browsers cannot set an Authorization header on a WebSocket, so the access token travels in the
query string (short-lived, and only over TLS in production). An absent or invalid token leaves
the scope's user anonymous; the consumer refuses the connection then.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken


@database_sync_to_async
def _user_for(raw_token: str):
    try:
        token = AccessToken(raw_token)  # type: ignore[arg-type]  # hinted as Token, takes the encoded string
    except TokenError:
        return AnonymousUser()
    user_id = token.get(api_settings.USER_ID_CLAIM)
    return (
        get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}, is_active=True).first()
        or AnonymousUser()
    )


class JWTAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        tokens = parse_qs(scope.get("query_string", b"").decode()).get("token")
        if tokens:
            scope = dict(scope, user=await _user_for(tokens[0]))
        elif "user" not in scope:
            scope = dict(scope, user=AnonymousUser())
        return await super().__call__(scope, receive, send)
