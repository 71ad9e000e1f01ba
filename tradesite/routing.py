from django.urls import path

from markets.consumers import TickerConsumer

websocket_urlpatterns = [
    path("ws/tickers/", TickerConsumer.as_asgi()),
]
