from django.urls import path
from rest_framework.routers import SimpleRouter

from alerts import api

router = SimpleRouter()
router.register("alerts", api.AlertViewSet, basename="alert")
router.register("notifications", api.NotificationViewSet, basename="notification")
router.register("notification-channels", api.NotificationChannelViewSet, basename="notification-channel")

urlpatterns = [
    path("notification-preferences/", api.NotificationPreferencesView.as_view(), name="notification-preferences"),
    *router.urls,
]
