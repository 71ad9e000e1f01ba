"""Alert reads, always scoped to one user."""

from alerts.models import Alert, AlertEvent, Notification, NotificationChannel


def alert_list(*, user):
    return Alert.objects.filter(user=user).select_related("instrument")


def alert_event_list(*, alert: Alert):
    return AlertEvent.objects.filter(alert=alert).order_by("-tick_time", "-id")


def notification_list(*, user, unread: bool | None = None):
    qs = Notification.objects.filter(user=user)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def krx_codes_in_use():
    """KRX stock codes users watch with an active or paused alert, with the alert's ``updated_at``
    (UTC): ``[(code, when)]``, for the KIS realtime planner (``KIS_REALTIME["STOCK_FUNCTIONS"]``)."""
    from django.db.models import Max

    from markets.models import Market

    rows = (
        Alert.objects.filter(instrument__market=Market.KRX, state__in=[Alert.State.ACTIVE, Alert.State.PAUSED])
        .values("instrument__symbol")
        .annotate(when=Max("updated_at"))
    )
    return [(row["instrument__symbol"], row["when"]) for row in rows]


def channel_list(*, user):
    return NotificationChannel.objects.filter(user=user)
