from django.contrib import admin

from alerts.models import Alert, AlertEvent, Notification


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
