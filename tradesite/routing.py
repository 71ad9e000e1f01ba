from channels.auth import AuthMiddlewareStack
from django.urls import path

from markets.consumers import TickerConsumer
from tradesite.ws_auth import JWTAuthMiddleware
from trading.consumers import AccountConsumer

websocket_urlpatterns = [
    path("ws/tickers/", TickerConsumer.as_asgi()),
    # a JWT in the query string, or the session of a logged-in page
    path("ws/account/", AuthMiddlewareStack(JWTAuthMiddleware(AccountConsumer.as_asgi()))),
]
