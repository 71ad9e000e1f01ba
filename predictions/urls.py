"""API routes of the predictions app (mounted under /api/v1/; the API root view is tradesite.api_root)."""

from rest_framework.routers import SimpleRouter

from predictions import api

router = SimpleRouter()
router.register("predictors", api.PredictorViewSet, basename="predictor")
router.register("predictions", api.PredictionViewSet, basename="prediction")
router.register("prediction-backtests", api.PredictionBacktestViewSet, basename="prediction-backtest")

urlpatterns = router.urls
