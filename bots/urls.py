from rest_framework.routers import SimpleRouter

from bots import api

router = SimpleRouter()
router.register("bots", api.BotViewSet, basename="bot")
router.register("backtests", api.BacktestViewSet, basename="backtest")

urlpatterns = router.urls
