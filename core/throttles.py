"""DRF throttles keyed by ``core.clientip.client_ip`` (the socket peer unless
``TRUSTED_PROXY_COUNT`` trusts proxies), never by a forgeable ``X-Forwarded-For``."""

from rest_framework import throttling

from core.clientip import client_ip


class ClientIpMixin:
    def get_ident(self, request):
        return client_ip(request)


class ScopedRateThrottle(ClientIpMixin, throttling.ScopedRateThrottle):
    """``ScopedRateThrottle`` keyed by user id when authenticated, else ``client_ip``."""


class AnonRateThrottle(ClientIpMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientIpMixin, throttling.UserRateThrottle):
    pass
