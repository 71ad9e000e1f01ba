"""The public taker-volume page (``/taker-volume/``): taker buy vs sell volume of a pair (or of
``all_exchange``) per minute, hour or day, as a chart and a table, times in Asia/Seoul, with a
link to the same rows as CSV from ``GET /api/v1/taker-volume/?format=csv``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.admin import plain_decimal
from core.forms import DATETIME_KST, MESSAGES
from etl import pairs as pair_registry
from etl import selectors
from etl.metrics import WINDOWS

CHART_POINTS = 5000  # rows drawn at most (the newest of the range)
TABLE_ROWS = 200  # rows listed under the chart, newest first
DEFAULT_SPAN = {"min": timedelta(hours=6), "hour": timedelta(days=7), "day": timedelta(days=365)}
EXCHANGES = [
    ("binance", "Binance USD-M"),
    ("bybit", "Bybit"),
    ("bitmex", "BitMEX"),
    ("bithumb", "Bithumb"),
    (pair_registry.ALL_EXCHANGE, _("All USD perpetuals")),
]
WINDOW_LABELS = {"min": _("minute"), "hour": _("hour"), "day": _("day")}
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def _seoul() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


class TakerVolumeForm(forms.Form):
    """The page's selectors (GET). ``from`` / ``to`` are Asia/Seoul wall times; ``to`` is
    exclusive; empty = the span before the newest stored minute of the selection."""

    exchange = forms.ChoiceField(choices=EXCHANGES, required=False, label=_("Exchange"), error_messages=MESSAGES)
    symbol = forms.CharField(
        max_length=20,
        required=False,
        label=_("Symbol"),
        help_text=_("empty: the exchange's BTC pair"),
    )
    window = forms.ChoiceField(
        choices=[(w, WINDOW_LABELS[w]) for w in WINDOWS], required=False, label=_("Window"), error_messages=MESSAGES
    )
    from_ = forms.DateTimeField(
        required=False, input_formats=LOCAL_FORMATS, label=_("From (KST)"), error_messages=DATETIME_KST
    )
    to = forms.DateTimeField(
        required=False, input_formats=LOCAL_FORMATS, label=_("To (KST, exclusive)"), error_messages=DATETIME_KST
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        to = self.fields.pop("to")
        self.fields["from"] = self.fields.pop("from_")  # "from" is a Python keyword
        self.fields["to"] = to
        for name in ("from", "to"):
            self.fields[name].widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def clean(self):
        data = super().clean()
        zone = _seoul()
        for name in ("from", "to"):  # wall times in Seoul, whatever the server's zone
            if data.get(name):
                data[name] = data[name].replace(tzinfo=None).replace(tzinfo=zone).astimezone(UTC)
        data["exchange"] = data.get("exchange") or "binance"
        data["window"] = data.get("window") or "min"
        if "exchange" not in self.errors:
            try:
                if data["exchange"] == pair_registry.ALL_EXCHANGE:
                    data["pairs"] = pair_registry.usd_perpetuals(data.get("symbol") or None)
                else:
                    data["pairs"] = [pair_registry.get_pair(data["exchange"], data.get("symbol") or None)]
            except pair_registry.UnknownPair as exc:
                hint = _("Check the symbol")
                self.add_error("symbol", f"{hint} · {exc}")
        if data.get("from") and data.get("to") and data["from"] >= data["to"]:
            self.add_error("to", _("to must be after from."))
        return data


def grouped(value, places: int | None = None) -> str:
    """A decimal with thousands separators and no padding zeros (``places`` rounds first):
    ``Decimal("444.60800000")`` -> ``"444.608"``; ``""`` for None."""
    if value is None:
        return ""
    number = Decimal(value)
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
    return plain_decimal(number) or ""


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def taker_volume_page(request):
    """Taker buy (up) vs sell (down) volume with the buy ratio, chosen by exchange, symbol,
    window (min, hour, day) and a KST range; public. Bad selectors show their field's message
    and no chart."""
    form = TakerVolumeForm(request.GET)  # bound even when empty: every selector has a default
    context: dict = {"form": form, "rows": [], "points": [], "csv_url": None, "pair": None}
    if not form.is_valid():
        return render(request, "etl/taker_volume.html", context, status=400)
    data = form.cleaned_data
    pairs, window = data["pairs"], data["window"]
    start, end = data.get("from"), data.get("to")
    if end is None:
        latest = [m for m in (selectors.taker_volume_latest_minute(pair=p) for p in pairs) if m is not None]
        end = max(latest) + timedelta(minutes=1) if latest else None
    if start is None and end is not None:
        start = end - DEFAULT_SPAN[window]
    rows = selectors.taker_volume_rows(pairs=pairs, window=window, start=start, end=end, limit=CHART_POINTS)
    zone = _seoul()
    shift = int(datetime.now(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
    points = [
        {
            # lightweight-charts draws UTC seconds: shifted by the Seoul offset, its axis reads KST
            "time": r["timestamp"] + shift,
            "buy": float(r["taker_buy_volume"]),
            "sell": float(r["taker_sell_volume"]),
            "ratio": None if r["taker_buy_ratio"] is None else float(r["taker_buy_ratio"]),
            "complete": r["is_complete"],
        }
        for r in reversed(rows)
    ]
    all_exchange = data["exchange"] == pair_registry.ALL_EXCHANGE
    query = {"exchange": data["exchange"], "window": window, "limit": CHART_POINTS, "format": "csv"}
    if data.get("symbol"):
        query["symbol"] = data["symbol"]
    if start is not None:
        query["from"] = _iso(start)
    if end is not None:
        query["to"] = _iso(end)
    context.update(
        {
            "rows": [
                {
                    **r,
                    "when": datetime.fromtimestamp(r["timestamp"], UTC).astimezone(zone),
                    "buy": grouped(r["taker_buy_volume"]),
                    "sell": grouped(r["taker_sell_volume"]),
                    "buy_value": grouped(r["taker_buy_value"], 2),
                    "sell_value": grouped(r["taker_sell_value"], 2),
                }
                for r in rows[:TABLE_ROWS]
            ],
            "row_count": len(rows),
            "table_rows": TABLE_ROWS,
            "points": points,
            "pair": {
                "label": ", ".join(p.label for p in pairs),
                "base": pairs[0].base,
                "quote": "USD" if all_exchange else pairs[0].quote,
            },
            "window": window,
            "window_label": WINDOW_LABELS[window],
            "start": start,
            "end": end,
            "csv_url": reverse("taker-volume") + "?" + urlencode(query),
            "totals": {
                "buy": grouped(sum((r["taker_buy_volume"] for r in rows), Decimal(0))),
                "sell": grouped(sum((r["taker_sell_volume"] for r in rows), Decimal(0))),
                "trades": sum(r["trade_count"] for r in rows),
                "incomplete": sum(not r["is_complete"] for r in rows),
            },
        }
    )
    return render(request, "etl/taker_volume.html", context)
