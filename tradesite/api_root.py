"""The API root ``GET /api/v1/``: ``{key: absolute url}`` for every endpoint under ``/api/v1/``
that takes no URL argument (router list routes, their list-level actions, and the plain paths such
as ``auth/token``, ``account``, ``portfolio``, ``taker-volume``, ``status``, ``glossary``).

Built by walking the URL resolver (the patterns list that holds the root itself), not from a hand list, so a new
endpoint appears here without an edit. The key is the path below ``/api/v1/`` without its
trailing slash (``"auth/token"``, ``"instruments"``, ``"instruments/top"``). Routes with a URL
argument (a detail ``{id}``, format suffixes) are left out: see ``/api/docs/`` for those.
"""

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

ROOT_NAME = "api-root"


def _walk(patterns):
    """Yield the URL name of every argument-free route in ``patterns``, nested includes too."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.pattern.regex.groups:
                continue
            yield from _walk(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            if entry.name and entry.name != ROOT_NAME and not entry.pattern.regex.groups:
                yield entry.name


def _patterns_holding_root(patterns):
    """The URL patterns list that contains the route named ``ROOT_NAME`` (``None`` if absent).

    Found through the project's resolver, so this module does not import ``tradesite.urls``
    (which imports it: that was an import cycle).
    """
    for entry in patterns:
        if isinstance(entry, URLPattern) and entry.name == ROOT_NAME:
            return patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found = _patterns_holding_root(entry.url_patterns)
            if found is not None:
                return found
    return None


def endpoint_paths() -> dict[str, str]:
    """``{key: path}`` for every argument-free route under ``/api/v1/``, in URLconf order."""
    api_v1 = _patterns_holding_root(get_resolver().url_patterns) or []
    root = reverse(ROOT_NAME)
    found: dict[str, str] = {}
    for name in _walk(api_v1):
        path = reverse(name)
        key = path[len(root) :].rstrip("/")
        found.setdefault(key, path)
    return found


class ApiRootView(APIView):
    """Every endpoint of the API, ``{"instruments": "http://host/api/v1/instruments/", ...}``."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={200: {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}},
        summary="Every endpoint of the API",
    )
    def get(self, request):
        return Response({key: request.build_absolute_uri(path) for key, path in endpoint_paths().items()})
