from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import signup_page
from alerts.views import alert_action, alert_events_page, alerts_page, channels_page, preferences_save, telegram_webhook
from markets.views import board, derivatives
from quiz.views import glossary_page, quiz_page
from tradesite import health
from tradesite.api_root import ApiRootView
from tradesite.pages import favicon
from trading.views import portfolio_page

api_v1: list[URLPattern | URLResolver] = [
    path("", ApiRootView.as_view(), name="api-root"),  # every endpoint below (tradesite/api_root.py)
    path("auth/", include("accounts.urls")),
    path("", include("markets.urls")),
    path("", include("predictions.urls")),
    path("", include("etl.urls")),
    path("", include("trading.urls")),
    path("", include("bots.urls")),
    path("", include("quiz.urls")),
    path("", include("alerts.urls")),
]

urlpatterns = [
    path("", board, name="board"),
    path("portfolio/", portfolio_page, name="portfolio-page"),
    path("", include("bots.pages")),  # /bots/..., /backtests/... (bots/pages.py)
    path("", include("etl.pages")),  # /taker-volume/ (etl/pages.py)
    path("derivatives/", derivatives, name="derivatives"),
    path("accounts/signup/", signup_page, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("quiz/", quiz_page, name="quiz"),
    path("glossary/", glossary_page, name="glossary"),
    path("predictions/", include("predictions.pages")),
    path("notifications/channels/", channels_page, name="notification-channels-page"),
    path("alerts/", alerts_page, name="alerts-page"),
    path("alerts/preferences/", preferences_save, name="alerts-preferences"),
    path("alerts/<int:pk>/events/", alert_events_page, name="alert-events-page"),
    path("alerts/<int:pk>/pause/", alert_action, {"action": "pause"}, name="alert-pause"),
    path("alerts/<int:pk>/resume/", alert_action, {"action": "resume"}, name="alert-resume"),
    path("alerts/<int:pk>/delete/", alert_action, {"action": "delete"}, name="alert-delete"),
    path("telegram/webhook/", telegram_webhook, name="telegram-webhook"),
    path("i18n/", include("django.conf.urls.i18n")),  # /i18n/setlang/: the header's language switch
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api-auth/", include("rest_framework.urls")),
    # orchestrator probes (tradesite/health.py)
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("favicon.ico", favicon, name="favicon"),  # browsers ask for it: the SVG icon
]

# the API error shape on /api/ paths, Django's HTML pages elsewhere (tradesite/errors.py)
handler400 = "core.errors.handler400"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
