"""Derived taker-volume figures and window rows, from exact per-minute sums.

``taker_total_volume`` = buy + sell; ``taker_buy_ratio`` = buy / total; ``taker_sell_ratio`` =
sell / total; ``taker_buy_sell_ratio`` = buy / sell (CryptoQuant's definitions, on base
volume); a ratio whose denominator is zero is ``None``. Ratios are rounded half-even to 12
places; sums are never rounded.

No Django imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from core.money import plain  # noqa: F401  (re-exported: the API formats with it)

WINDOWS = ("min", "hour", "day")
WINDOW_MINUTES = {"min": 1, "hour": 60, "day": 1440}
RATIO_PLACES = Decimal("1E-12")
SUMMED = ("buy_volume", "sell_volume", "buy_value", "sell_value")


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    with localcontext() as ctx:
        ctx.prec = 50
        return (numerator / denominator).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)


def window_row(bucket: datetime, parts: Iterable[Mapping], window: str) -> dict:
    """One output row from the per-pair aggregates of a window.

    ``parts``: mappings with ``buy_volume``, ``sell_volume``, ``buy_value``, ``sell_value``
    (Decimal), ``trade_count``, ``minutes`` (rows present), ``complete_minutes`` and ``label``
    (``"binance:BTCUSDT"``). The row is complete only when every part has all the window's
    minutes and all of them complete.
    """
    parts = list(parts)
    expected = WINDOW_MINUTES[window]
    sums = {key: sum((Decimal(p[key]) for p in parts), Decimal(0)) for key in SUMMED}
    buy, sell = sums["buy_volume"], sums["sell_volume"]
    total = buy + sell
    if bucket.tzinfo is None:
        bucket = bucket.replace(tzinfo=UTC)
    bucket = bucket.astimezone(UTC)
    return {
        "datetime": bucket.isoformat().replace("+00:00", "Z"),
        "timestamp": int(bucket.timestamp()),
        "taker_buy_volume": buy,
        "taker_sell_volume": sell,
        "taker_total_volume": total,
        "taker_buy_value": sums["buy_value"],
        "taker_sell_value": sums["sell_value"],
        "taker_total_value": sums["buy_value"] + sums["sell_value"],
        "trade_count": sum(int(p["trade_count"]) for p in parts),
        "taker_buy_ratio": ratio(buy, total),
        "taker_sell_ratio": ratio(sell, total),
        "taker_buy_sell_ratio": ratio(buy, sell),
        "is_complete": bool(parts)
        and all(int(p["minutes"]) == expected and int(p["complete_minutes"]) == expected for p in parts),
        "sources": sorted(p["label"] for p in parts),
    }
