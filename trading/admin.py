from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin
from trading import services
from trading.models import CashEntry, EquitySnapshot, Fill, Lot, Order, Position, Wallet


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    list_display = ["user", "currency", "cash", "reserved", "reset_at", "updated_at"]
    list_filter = ["currency"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(CashEntry)
class CashEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "wallet", "kind", "amount", "balance_after", "fill", "reference", "created_at"]
    list_filter = ["kind", "wallet__currency"]
    search_fields = ["wallet__user__username", "reference"]
    list_select_related = ["wallet", "wallet__user"]
    raw_id_fields = ["wallet", "fill"]
    date_hierarchy = "created_at"


@admin.action(description="Cancel the selected open orders")
def cancel_orders(modeladmin, request, queryset):
    canceled = 0
    for order in queryset.filter(status__in=Order.OPEN_STATUSES).select_related("user"):
        try:
            services.order_cancel(user=order.user, order_id=order.pk)
            canceled += 1
        except services.OrderNotOpen:
            pass
    modeladmin.message_user(request, f"{canceled} order(s) canceled.", messages.SUCCESS)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "instrument",
        "side",
        "type",
        "quantity",
        "limit_price",
        "time_in_force",
        "status",
        "filled_quantity",
        "created_at",
    ]
    list_filter = ["status", "side", "type", "time_in_force", "instrument__exchange"]
    search_fields = ["user__username", "instrument__symbol", "client_order_id"]
    list_select_related = ["user", "instrument"]
    raw_id_fields = ["user", "instrument"]
    date_hierarchy = "created_at"
    actions = [cancel_orders]


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "price", "quantity", "fee", "tax", "realized_pnl", "created_at"]
    list_filter = ["order__side", "order__instrument__exchange"]
    search_fields = ["order__user__username", "order__instrument__symbol"]
    list_select_related = ["order", "order__instrument", "order__user"]
    raw_id_fields = ["order"]
    date_hierarchy = "created_at"


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "instrument",
        "quantity",
        "reserved_quantity",
        "average_entry_price",
        "realized_pnl",
        "updated_at",
    ]
    list_filter = ["instrument__exchange", "instrument__market"]
    search_fields = ["user__username", "instrument__symbol"]
    list_select_related = ["user", "instrument"]
    raw_id_fields = ["user", "instrument"]


@admin.register(EquitySnapshot)
class EquitySnapshotAdmin(ReadOnlyAdmin):
    list_display = ["user", "currency", "date", "cash", "positions_value", "equity"]
    list_filter = ["currency"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "instrument",
        "day",
        "quantity",
        "remaining",
        "price",
        "realized_pnl",
        "exit_state",
        "exit_due_at",
    ]
    list_filter = ["exit_state", "instrument__market"]
    search_fields = ["user__username", "instrument__symbol"]
    list_select_related = ["user", "instrument"]
    raw_id_fields = ["user", "instrument", "fill", "exit_order"]
