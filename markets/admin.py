from django.contrib import admin

from core.admin import PlainDecimalAdmin, ReadOnlyAdmin
from markets.models import Candle, CandleGap, Instrument, JobStatus, Tick, Ticker


@admin.register(Instrument)
class InstrumentAdmin(PlainDecimalAdmin):
    list_display = ["symbol", "exchange", "market", "segment", "name_ko", "name_en", "tick_size", "lot_size", "active"]
    list_filter = ["market", "exchange", "segment", "active"]
    search_fields = ["symbol", "base", "name_ko", "name_en"]
    ordering = ["exchange", "symbol"]


@admin.register(Candle)
class CandleAdmin(ReadOnlyAdmin):
    """Candles are imported market data: read-only here."""

    list_display = ["instrument", "interval", "open_time", "open", "high", "low", "close", "volume"]
    list_filter = ["interval", "instrument__exchange", "instrument__market"]
    search_fields = ["instrument__symbol", "instrument__name_ko", "instrument__name_en"]
    list_select_related = ["instrument"]
    raw_id_fields = ["instrument"]
    date_hierarchy = "open_time"
    show_full_result_count = False


@admin.register(Ticker)
class TickerAdmin(PlainDecimalAdmin):
    list_display = ["instrument", "last_price", "change_rate", "traded_value_24h", "time", "source", "updated_at"]
    list_filter = ["source", "instrument__exchange", "instrument__market"]
    search_fields = ["instrument__symbol", "instrument__name_ko", "instrument__name_en"]
    list_select_related = ["instrument"]
    raw_id_fields = ["instrument"]
    readonly_fields = ["updated_at"]


@admin.register(JobStatus)
class JobStatusAdmin(ReadOnlyAdmin):
    """Freshness: each periodic job's latest outcome per venue (written by the jobs)."""

    list_display = [
        "job",
        "venue",
        "last_success_at",
        "last_failure_at",
        "short_error",
        "rows_written",
        "runs",
        "failures",
        "consecutive_failures",
    ]
    list_filter = ["job", "venue"]
    search_fields = ["job", "venue", "last_error"]

    @admin.display(description="last failure's reason")
    def short_error(self, obj: JobStatus) -> str:
        return obj.last_error[:120]

    def changelist_view(self, request, extra_context=None):
        from markets.selectors import breaker_list

        extra_context = {**(extra_context or {}), "breakers": breaker_list()}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(CandleGap)
class CandleGapAdmin(ReadOnlyAdmin):
    """Missing candles found by the crawl, per instrument and interval."""

    list_display = ["instrument", "interval", "start", "end", "missing", "detected_at"]
    list_filter = ["interval", "instrument__exchange"]
    search_fields = ["instrument__symbol"]
    list_select_related = ["instrument"]
    raw_id_fields = ["instrument"]


@admin.register(Tick)
class TickAdmin(ReadOnlyAdmin):
    """Executions and best bid/ask from the KIS feed and recordings: read-only; an operator may
    delete (the retention job deletes old ones, ``MARKETS["TICK_RETENTION_DAYS"]``)."""

    deletable = True
    list_display = ["instrument", "kind", "exchange_time", "price", "size", "bid", "ask", "side", "session_date"]
    list_filter = ["kind", "source", "session_date"]
    search_fields = ["instrument__symbol", "instrument__name_ko"]
    list_select_related = ["instrument"]
    raw_id_fields = ["instrument"]
    date_hierarchy = "exchange_time"
    show_full_result_count = False
