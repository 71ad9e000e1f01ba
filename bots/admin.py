"""Admin for breakout bots, their decision log and stored backtests. Bots change only through
``bots.services`` (admin actions); decisions and backtests are read-only records."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from bots import services
from bots.models import Backtest, Bot, BotDecision
from core.admin import ReadOnlyAdmin


@admin.action(description="Enable the selected bots")
def enable_bots(modeladmin, request, queryset):
    for bot in queryset:
        services.bot_update(bot=bot, enabled=True)
    modeladmin.message_user(request, f"{queryset.count()} bot(s) enabled.", messages.SUCCESS)


@admin.action(description="Disable the selected bots (no new entries; holdings are still sold)")
def disable_bots(modeladmin, request, queryset):
    for bot in queryset:
        services.bot_update(bot=bot, enabled=False)
    modeladmin.message_user(request, f"{queryset.count()} bot(s) disabled.", messages.SUCCESS)


@admin.action(description="Check the selected bots now (day roll, entry)")
def check_bots(modeladmin, request, queryset):
    for bot in queryset:
        services.bot_check(bot_id=bot.pk)
    modeladmin.message_user(request, f"{queryset.count()} bot(s) checked; see their decisions.", messages.SUCCESS)


@admin.register(Bot)
class BotAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "instrument",
        "k_mode",
        "k",
        "lookback",
        "ma_window",
        "fraction",
        "enabled",
        "state",
        "day",
        "target",
        "holding_quantity",
        "decisions",
    ]
    list_filter = ["enabled", "state", "k_mode", "instrument__exchange"]
    search_fields = ["user__username", "instrument__symbol", "name"]
    list_select_related = ["user", "instrument"]
    raw_id_fields = ["user", "instrument"]
    actions = [enable_bots, disable_bots, check_bots]

    @admin.display(description="decisions")
    def decisions(self, bot):
        url = reverse("admin:bots_botdecision_changelist") + f"?bot__id__exact={bot.pk}"
        return format_html('<a href="{}">log</a>', url)


@admin.register(BotDecision)
class BotDecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "time", "bot", "day", "action", "price", "target", "k", "reason", "order"]
    list_filter = ["action", "bot__instrument__exchange"]
    search_fields = ["bot__user__username", "bot__instrument__symbol", "reason"]
    list_select_related = ["bot", "bot__instrument", "bot__user", "order"]
    raw_id_fields = ["bot", "order"]
    date_hierarchy = "time"


@admin.register(Backtest)
class BacktestAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "instrument",
        "start",
        "end",
        "k",
        "lookback",
        "ma_window",
        "total_return",
        "cagr",
        "max_drawdown",
        "number_of_trades",
        "buy_and_hold_return",
        "created_at",
    ]
    list_filter = ["instrument__exchange"]
    search_fields = ["user__username", "instrument__symbol"]
    list_select_related = ["user", "instrument"]
    raw_id_fields = ["user", "instrument"]
    exclude = ["result"]  # trades and the equity curve: see the chart page
    date_hierarchy = "created_at"
    deletable = True  # a stored run is a disposable computation, not a ledger
