"""The Telegram webhook and the notification-channels page."""

import hmac
import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_POST

from alerts import delivery

logger = logging.getLogger(__name__)
MAX_UPDATE_BYTES = 64 * 1024


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest) -> JsonResponse:
    """``POST /telegram/webhook/``: one Bot API update (JSON). Refused with 403, changing
    nothing, unless ``X-Telegram-Bot-Api-Secret-Token`` equals ``TELEGRAM_WEBHOOK_SECRET``
    (always refused while that setting is empty). ``/start <token>`` links the chat; the reply
    is ``{"ok": true, "result": "linked"|"bad_token"|"ignored"}``; a body that is not a JSON
    object is a 400."""
    secret = settings.TELEGRAM_WEBHOOK_SECRET
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return JsonResponse({"ok": False, "error": "forbidden"}, status=403)
    if len(request.body) > MAX_UPDATE_BYTES:
        return JsonResponse({"ok": False, "error": "update too large"}, status=400)
    try:
        update = json.loads(request.body)
    except ValueError:
        update = None
    if not isinstance(update, dict):
        return JsonResponse({"ok": False, "error": "the body must be a JSON object"}, status=400)
    return JsonResponse({"ok": True, "result": delivery.telegram_handle_update(update)})


@login_required
@ensure_csrf_cookie  # the page's script sends the cookie's token back as X-CSRFToken
def channels_page(request: HttpRequest):
    """Link Telegram and add an email address (templates: alerts/channels.html): plain JS on
    ``/api/v1/notification-channels/`` with the session cookie."""
    return render(request, "alerts/channels.html", {"bot_username": settings.TELEGRAM_BOT_USERNAME})
