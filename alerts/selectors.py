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


def channel_list(*, user):
    return NotificationChannel.objects.filter(user=user)
