"""Page routes of the bots app (mounted at the site root: /bots/..., /backtests/...)."""

from django.urls import path

from bots import views

urlpatterns = [
    path("bots/", views.bot_list_page, name="bot-list-page"),
    path("bots/new/", views.bot_create_page, name="bot-create-page"),
    path("bots/<int:pk>/", views.bot_detail_page, name="bot-detail-page"),
    path("bots/<int:pk>/enable/", views.bot_enable, name="bot-enable"),
    path("bots/<int:pk>/disable/", views.bot_disable, name="bot-disable"),
    path("backtests/", views.backtest_list_page, name="backtest-list-page"),
    path("backtests/<int:pk>/chart/", views.backtest_chart, name="backtest-chart"),
]
