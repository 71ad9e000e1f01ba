"""ASGI entry point: HTTP through Django, WebSockets through the Channels router."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradesite.settings")
django.setup(set_prefix=False)  # what get_asgi_application does, with the API-shaped handler below

from core.errors import ApiASGIHandler  # noqa: E402

django_asgi_app = ApiASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from tradesite.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
