from django.urls import path
from rest_framework.routers import SimpleRouter

from trading import api

router = SimpleRouter()
router.register("orders", api.OrderViewSet, basename="order")
router.register("fills", api.FillViewSet, basename="fill")
router.register("positions", api.PositionViewSet, basename="position")
router.register("lots", api.LotViewSet, basename="lot")

urlpatterns = [
    path("sessions/krx/", api.KrxSessionView.as_view(), name="krx-session"),
    path("account/", api.AccountView.as_view(), name="account"),
    path("account/reset/", api.AccountResetView.as_view(), name="account-reset"),
    path("portfolio/", api.PortfolioView.as_view(), name="portfolio"),
    path("portfolio/history/", api.EquityHistoryView.as_view(), name="portfolio-history"),
    *router.urls,
]
