"""Operators' view of the ETL: per-pair cursor and coverage, runs and their errors, the minute
rows (read-only: they are only written by loads), and a buy-vs-sell chart of a pair."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from core.admin import ReadOnlyAdmin
from etl import selectors, services
from etl.api import parse_moment
from etl.metrics import WINDOWS
from etl.models import CoverageSpan, IngestRun, PairState, StagedTrade, TakerVolume
from etl.pairs import PAIRS, get_pair

CHART_POINTS = 5000
DEFAULT_CHART_SPAN = {"min": timedelta(hours=6), "hour": timedelta(days=7), "day": timedelta(days=365)}


def chart_url(exchange: str, symbol: str) -> str:
    return reverse("admin:etl_takervolume_chart") + "?" + urlencode({"pair": f"{exchange}:{symbol}"})


@admin.register(PairState)
class PairStateAdmin(ReadOnlyAdmin):
    """Per pair: the live cursor, the coverage, the last run and the last error."""

    list_display = [
        "pair",
        "last_trade_id",
        "last_trade_time",
        "coverage",
        "last_run_status",
        "last_run_finished",
        "error_summary",
        "chart",
    ]
    list_filter = ["exchange"]
    list_select_related = ["last_run"]
    readonly_fields = [
        "exchange",
        "symbol",
        "last_trade_id",
        "last_trade_time",
        "last_run",
        "last_error",
        "last_error_at",
        "updated_at",
        "coverage_detail",
    ]
    actions = ["run_live_now"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("last_run")

    @admin.display(description="pair")
    def pair(self, obj):
        return f"{obj.exchange}:{obj.symbol}"

    @admin.display(description="coverage")
    def coverage(self, obj):
        spans = list(selectors.coverage_span_list(exchange=obj.exchange, symbol=obj.symbol))
        if not spans:
            return "-"
        last = spans[-1]
        return f"{len(spans)} span(s); latest {last.start:%Y-%m-%d %H:%M:%S} .. {last.end:%Y-%m-%d %H:%M:%S} UTC"

    @admin.display(description="coverage spans")
    def coverage_detail(self, obj):
        spans = selectors.coverage_span_list(exchange=obj.exchange, symbol=obj.symbol)
        lines = [
            f"{s.start:%Y-%m-%d %H:%M:%S.%f} .. {s.end:%Y-%m-%d %H:%M:%S.%f} (ids {s.first_trade_id} .. {s.last_trade_id})"
            for s in spans
        ]
        return format_html("<pre>{}</pre>", "\n".join(lines) or "-")

    @admin.display(description="last run")
    def last_run_status(self, obj):
        return obj.last_run.get_status_display() if obj.last_run else "-"

    @admin.display(description="finished")
    def last_run_finished(self, obj):
        return obj.last_run.finished_at if obj.last_run else None

    @admin.display(description="last error")
    def error_summary(self, obj):
        return obj.last_error[:120] if obj.last_error else ""

    @admin.display(description="chart")
    def chart(self, obj):
        return format_html('<a href="{}">buy vs sell</a>', chart_url(obj.exchange, obj.symbol))

    @admin.action(description="Run a live extraction now")
    def run_live_now(self, request, queryset):
        for state in queryset:
            try:
                run = services.taker_volume_live_run(pair=get_pair(state.exchange, state.symbol))
            except Exception as exc:  # recorded on the run and the cursor; shown here too
                self.message_user(request, f"{state}: {type(exc).__name__}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{state}: {run.trades_read} trades, {run.minutes_written} minutes written")


@admin.register(IngestRun)
class IngestRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "kind",
        "exchange",
        "symbol",
        "status",
        "trades_read",
        "duplicates",
        "minutes_written",
        "trades_staged",
        "first_trade_time",
        "last_trade_time",
        "short_error",
    ]
    list_filter = ["status", "kind", "exchange"]
    search_fields = ["symbol", "source", "error"]
    date_hierarchy = "started_at"

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:120]


@admin.register(CoverageSpan)
class CoverageSpanAdmin(ReadOnlyAdmin):
    list_display = ["exchange", "symbol", "start", "end", "first_trade_id", "last_trade_id", "updated_at"]
    list_filter = ["exchange", "symbol"]


@admin.register(StagedTrade)
class StagedTradeAdmin(ReadOnlyAdmin):
    list_display = ["exchange", "symbol", "trade_id", "time", "minute", "is_buy", "loaded_at"]
    list_filter = ["exchange", "symbol", "is_buy"]
    search_fields = ["trade_id"]
    show_full_result_count = False


@admin.register(TakerVolume)
class TakerVolumeAdmin(ReadOnlyAdmin):
    list_display = [
        "minute",
        "exchange",
        "symbol",
        "taker_buy_volume",
        "taker_sell_volume",
        "taker_buy_value",
        "taker_sell_value",
        "quote",
        "trade_count",
        "is_complete",
    ]
    list_filter = ["exchange", "symbol", "is_complete"]
    date_hierarchy = "minute"
    show_full_result_count = False
    change_list_template = "admin/etl/takervolume/change_list.html"

    def get_urls(self):
        return [
            path("chart/", self.admin_site.admin_view(self.chart_view), name="etl_takervolume_chart"),
            *super().get_urls(),
        ]

    def chart_view(self, request):
        """Taker buy (up) vs sell (down) volume of one pair over a chosen range, with the buy
        ratio; light bars are incomplete windows."""
        params = request.GET
        errors = []
        exchange, _, symbol = params.get("pair", "binanceusdm:BTCUSDT").partition(":")
        try:
            pair = get_pair(exchange, symbol or None)
        except ValueError as exc:
            errors.append(str(exc))
            pair = PAIRS[0]
        window = params.get("window", "min")
        if window not in WINDOWS:
            errors.append(f"window must be one of {', '.join(WINDOWS)}")
            window = "min"
        start = end = None
        for name in ("from", "to"):
            if params.get(name):
                try:
                    value = parse_moment(params[name])
                except ValueError as exc:
                    errors.append(f"{name}: {exc}")
                    continue
                start, end = (value, end) if name == "from" else (start, value)
        if end is None:
            latest = selectors.taker_volume_latest_minute(pair=pair)
            end = latest + timedelta(minutes=1) if latest else None
        if start is None and end is not None:
            start = end - DEFAULT_CHART_SPAN[window]
        rows = selectors.taker_volume_rows(pairs=[pair], window=window, start=start, end=end, limit=CHART_POINTS)
        rows.reverse()
        points = [
            {
                "time": r["timestamp"],
                "buy": float(r["taker_buy_volume"]),
                "sell": float(r["taker_sell_volume"]),
                "ratio": float(r["taker_buy_ratio"]) if r["taker_buy_ratio"] is not None else None,
                "complete": r["is_complete"],
            }
            for r in rows
        ]
        totals = {
            "buy": sum((r["taker_buy_volume"] for r in rows), 0),
            "sell": sum((r["taker_sell_volume"] for r in rows), 0),
            "trades": sum(r["trade_count"] for r in rows),
            "incomplete": sum(not r["is_complete"] for r in rows),
        }
        context = {
            **self.admin_site.each_context(request),
            "title": f"Taker buy vs sell volume: {pair.label}",
            "opts": self.model._meta,
            "pairs": [(f"{p.exchange}:{p.symbol}", p.label) for p in PAIRS],
            "selected": f"{pair.exchange}:{pair.symbol}",
            "pair": pair,
            "windows": WINDOWS,
            "window": window,
            "start": start.strftime("%Y-%m-%dT%H:%M") if start else "",
            "end": end.strftime("%Y-%m-%dT%H:%M") if end else "",
            "points": points,
            "totals": totals,
            "errors": errors,
        }
        return TemplateResponse(request, "admin/etl/takervolume/chart.html", context)
