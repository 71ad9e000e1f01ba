from django.contrib import admin

from alerts.models import Alert, AlertEvent, Delivery, Notification, NotificationChannel
from core.admin import ReadOnlyAdmin


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "instrument",
        "condition",
        "level",
        "level2",
        "value",
        "trigger",
        "state",
        "expires_at",
    )
    list_filter = ("state", "condition", "trigger")
    search_fields = ("user__username", "instrument__symbol")
    raw_id_fields = ("user", "instrument")


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ("id", "alert", "price", "previous_price", "tick_time")
    readonly_fields = ("alert", "price", "previous_price", "tick_time", "idempotency_key", "created_at")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "text", "read_at", "created_at")
    list_filter = ("kind",)
    raw_id_fields = ("user", "event")


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "address", "chat_id", "language", "verified", "disabled_at", "created_at")
    list_filter = ("kind", "verified")
    search_fields = ("user__username", "address", "telegram_username")
    raw_id_fields = ("user",)
    exclude = ("verify_code_hash", "link_token")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: one row per notification and channel."""

    list_display = ("id", "notification", "channel", "state", "attempts", "last_error", "created_at", "sent_at")
    list_filter = ("state", "channel__kind")
    search_fields = ("channel__user__username", "last_error")
    list_select_related = ("channel", "notification")
