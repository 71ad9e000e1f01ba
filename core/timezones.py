"""Pages in Asia/Seoul: every time a template or the admin renders is shown in the display zone.

Storage and computation stay in UTC (``TIME_ZONE = "UTC"``); ``DISPLAY_TIME_ZONE`` (Asia/Seoul)
is what a person reads. ``DisplayTimeZoneMiddleware`` activates it for every request outside
``/api/`` (the API keeps its documented UTC ISO 8601 strings), so the admin's change lists and
forms, and ``{{ some_datetime }}`` in a template, are in KST; ``tradesite/formats`` adds the zone
to Django's default datetime formats ("2026-06-28 17:15:00 KST").
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class DisplayTimeZoneMiddleware:
    """Activate ``settings.DISPLAY_TIME_ZONE`` for HTML requests (everything not under /api/)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.zone = ZoneInfo(settings.DISPLAY_TIME_ZONE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return self.get_response(request)
        timezone.activate(self.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
