"""Probes for an orchestrator: ``/healthz`` (the process answers) and ``/readyz`` (its database
and channel layer answer). Plain text, no authentication, no database write."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)

CHANNEL_TIMEOUT = 2.0  # seconds for the channel layer's round trip


@never_cache
@require_GET
def healthz(request):
    """200 ``ok`` while the process serves requests."""
    return HttpResponse("ok\n", content_type="text/plain")


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _channel_round_trip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    message = await asyncio.wait_for(layer.receive(channel), CHANNEL_TIMEOUT)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("the channel layer returned another message")


def check_channel_layer() -> None:
    async_to_sync(_channel_round_trip)()


CHECKS = {"database": check_database, "channel layer": check_channel_layer}


@never_cache
@require_GET
def readyz(request):
    """200 ``ready`` when the database and the channel layer answer; 503 naming each one that
    does not and why (``database: OperationalError: ...``)."""
    failed = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure means not ready; the reason goes in the reply
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    if failed:
        log.warning("not ready: %s", "; ".join(failed))
        return HttpResponse("not ready\n" + "\n".join(failed) + "\n", status=503, content_type="text/plain")
    return HttpResponse("ready\n", content_type="text/plain")
