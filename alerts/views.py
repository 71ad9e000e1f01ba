"""The Telegram webhook, the notification-channels page and the alerts page."""

import hmac
import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_POST

from alerts import delivery, selectors, services
from alerts.forms import CONDITION_LABELS, EVENT_LABELS, TRIGGER_LABELS, AlertForm, PreferencesForm
from markets.models import Instrument

logger = logging.getLogger(__name__)
MAX_UPDATE_BYTES = 64 * 1024
MAX_LIST = 500


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


# --- the alerts page (/alerts/) ------------------------------------------------------------
EVENTS_SHOWN = 5


def _alerts_context(request: HttpRequest, form: AlertForm, prefs: PreferencesForm | None = None) -> dict:
    alerts = list(selectors.alert_list(user=request.user)[:MAX_LIST])
    for a in alerts:
        a.recent_events = list(selectors.alert_event_list(alert=a)[:EVENTS_SHOWN])
        a.condition_label = CONDITION_LABELS.get(a.condition, a.condition)
        a.trigger_label = TRIGGER_LABELS.get(a.trigger, a.trigger)
    if prefs is None:
        prefs = PreferencesForm(initial_events=services.preferences_get(user=request.user))
    return {"alerts": alerts, "form": form, "prefs": prefs}


@login_required
def alerts_page(request: HttpRequest):
    """``GET /alerts/``: the user's alerts with their latest events, a form to create one
    (``?exchange=&symbol=`` or ``?instrument=<id>`` fill it in) and the account-event
    preferences. ``POST`` creates an alert: field errors are shown on the form (400)."""
    if request.method == "POST":
        form = AlertForm(request.POST)
        if form.is_valid():
            try:
                services.alert_create(
                    user=request.user,
                    instrument_id=form.cleaned_data["instrument"].pk,
                    condition=form.cleaned_data["condition"],
                    **form.service_fields(),
                )
            except services.InvalidAlert as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, "Alert created · 알림을 만들었습니다")
                return redirect("alerts-page")
        return render(request, "alerts/alerts.html", _alerts_context(request, form), status=400)
    initial = {"exchange": request.GET.get("exchange", ""), "symbol": request.GET.get("symbol", "")}
    inst_id = request.GET.get("instrument", "")
    if inst_id.isdigit():
        inst = Instrument.objects.filter(pk=int(inst_id)).first()
        if inst is not None:
            initial = {"exchange": inst.exchange, "symbol": inst.symbol}
    if request.GET.get("level", "").replace(".", "", 1).isdigit():
        initial["level"] = request.GET["level"]
    return render(request, "alerts/alerts.html", _alerts_context(request, AlertForm(initial=initial)))


@login_required
@require_POST
def alert_action(request: HttpRequest, pk: int, action: str):
    """``POST /alerts/<id>/pause/``, ``/resume/``, ``/delete/``: another user's alert is a 404."""
    alert = get_object_or_404(selectors.alert_list(user=request.user), pk=pk)
    try:
        if action == "delete":
            services.alert_delete(alert=alert)
            messages.success(request, "Alert deleted · 알림을 삭제했습니다")
        else:
            services.alert_update(alert=alert, state="paused" if action == "pause" else "active")
    except services.InvalidAlert as exc:
        messages.error(request, f"{exc.field}: {exc.message}")
    return redirect("alerts-page")


@login_required
def alert_events_page(request: HttpRequest, pk: int):
    """``GET /alerts/<id>/events/``: every fire of one of the user's alerts (newest first, up to
    ``MAX_LIST``), times in Asia/Seoul."""
    alert = get_object_or_404(selectors.alert_list(user=request.user), pk=pk)
    alert.condition_label = CONDITION_LABELS.get(alert.condition, alert.condition)
    events = selectors.alert_event_list(alert=alert)[:MAX_LIST]
    return render(request, "alerts/alert_events.html", {"alert": alert, "events": events})


@login_required
@require_POST
def preferences_save(request: HttpRequest):
    """``POST /alerts/preferences/``: the account events the user opts in to, per channel."""
    form = PreferencesForm(request.POST)
    if form.is_valid():
        services.preferences_set(user=request.user, events={e: list(form.cleaned_data[e]) for e in EVENT_LABELS})
        messages.success(request, "Notification settings saved · 알림 설정을 저장했습니다")
        return redirect("alerts-page")
    return render(request, "alerts/alerts.html", _alerts_context(request, AlertForm(), form), status=400)
