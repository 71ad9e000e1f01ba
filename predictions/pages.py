"""Page routes of the predictions app (mounted under /predictions/)."""

from django.urls import path

from predictions import views

urlpatterns = [
    path("", views.discover_page, name="predictions-discover"),
    path("model/", views.model_card_page, name="predictions-model-card"),
    path("backtests/", views.backtest_list_page, name="prediction-backtest-list-page"),
    path("backtests/<int:pk>/", views.backtest_chart_page, name="prediction-backtest-chart"),
]
