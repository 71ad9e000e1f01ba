"""The client's address, for throttles, login lockouts (django-axes) and logs.

``client_ip(request)`` is the socket's peer (``REMOTE_ADDR``) unless ``settings.TRUSTED_PROXY_COUNT``
(default 0, env ``TRUSTED_PROXY_COUNT``) says how many reverse proxies stand in front of the
server. With N trusted proxies the client is the Nth ``X-Forwarded-For`` entry from the right
(each proxy appends the address it received the connection from, so entries further left were
written by the client and can be forged). An entry that is not an IP address, or a header with
fewer entries than N, falls back to the leftmost entry a trusted proxy could have written or
``REMOTE_ADDR``. The same rule is DRF's ``NUM_PROXIES``, which settings set to the same count.
"""

import ipaddress

from django.conf import settings


def _valid_ip(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's IP address as text (``""`` only when the request carries no address)."""
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR", "") or ""
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    forwarded = [entry for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if not forwarded:
        return remote
    entry = forwarded[-min(count, len(forwarded))]
    return _valid_ip(entry) or remote
