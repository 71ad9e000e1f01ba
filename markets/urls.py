from django.urls import path
from rest_framework.routers import DefaultRouter

from markets import api

router = DefaultRouter()
router.include_root_view = False  # the API root is tradesite.api_root (every app's endpoints)
router.register("instruments", api.InstrumentViewSet, basename="instrument")

urlpatterns = [
    path("tickers/", api.TickerListView.as_view(), name="ticker-list"),
    path("clock/", api.ClockView.as_view(), name="clock"),
    path("status/", api.StatusView.as_view(), name="status"),
    path("ticks/", api.TickListView.as_view(), name="tick-list"),
    path("ticks/stats/", api.TickStatsView.as_view(), name="tick-stats"),
    *router.urls,
]
