from django.urls import path

from markets.consumers import TickerConsumer
from trading.consumers import AccountConsumer
from tradesite.ws_auth import JWTAuthMiddleware

websocket_urlpatterns = [
    path("ws/tickers/", TickerConsumer.as_asgi()),
    path("ws/account/", JWTAuthMiddleware(AccountConsumer.as_asgi())),
]
