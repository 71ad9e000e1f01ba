"""Taker-volume reads: window aggregates for the API and the chart, cursors and coverage for
the admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Trunc

from etl.metrics import WINDOW_MINUTES, window_row
from etl.models import CoverageSpan, IngestRun, PairState, TakerVolume
from etl.pairs import Pair

_TRUNC = {"hour": "hour", "day": "day"}


def window_floor(when: datetime, window: str) -> datetime:
    """The start of the window containing ``when`` (UTC)."""
    when = when.astimezone(UTC)
    if window == "day":
        return when.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "hour":
        return when.replace(minute=0, second=0, microsecond=0)
    return when.replace(second=0, microsecond=0)


def window_ceil(when: datetime, window: str) -> datetime:
    """The first window start at or after ``when``."""
    floor = window_floor(when, window)
    return floor if floor == when else floor + timedelta(minutes=WINDOW_MINUTES[window])


def _pairs_q(pairs: list[Pair]) -> Q:
    q = Q(pk__in=[])
    for pair in pairs:
        q |= Q(exchange=pair.exchange, symbol=pair.symbol)
    return q


def taker_volume_rows(
    *, pairs: list[Pair], window: str, start: datetime | None = None, end: datetime | None = None, limit: int = 100
) -> list[dict]:
    """The newest ``limit`` window rows of ``pairs`` whose window start lies in ``[start, end)``,
    newest first, each summed over ``pairs`` (``etl.metrics.window_row``: volumes in the base
    asset, values in the quote currency, USDT counted as USD when pairs are mixed).

    ``window``: ``min``, ``hour`` or ``day`` (UTC). Hour and day rows aggregate the stored
    minutes; a row is complete only when all its minutes are there and complete.
    """
    labels = {pair.key: pair.label for pair in pairs}
    qs = TakerVolume.objects.filter(_pairs_q(pairs))
    if start is not None:
        qs = qs.filter(minute__gte=window_ceil(start, window))
    if end is not None:
        qs = qs.filter(minute__lt=window_ceil(end, window))
    bucket = F("minute") if window == "min" else Trunc("minute", _TRUNC[window], tzinfo=UTC)
    qs = qs.annotate(bucket=bucket)
    newest = list(qs.values_list("bucket", flat=True).distinct().order_by("-bucket")[:limit])
    if not newest:
        return []
    grouped = (
        qs.filter(minute__gte=newest[-1])
        .values("bucket", "exchange", "symbol")
        .annotate(
            buy_volume=Sum("taker_buy_volume"),
            sell_volume=Sum("taker_sell_volume"),
            buy_value=Sum("taker_buy_value"),
            sell_value=Sum("taker_sell_value"),
            trade_count=Sum("trade_count"),
            minutes=Count("pk"),
            complete_minutes=Count("pk", filter=Q(is_complete=True)),
        )
        .order_by("-bucket")
    )
    by_bucket: dict[datetime, list[dict]] = {}
    for part in grouped:
        part["label"] = labels[(part["exchange"], part["symbol"])]
        by_bucket.setdefault(part["bucket"], []).append(part)
    return [window_row(bucket, parts, window) for bucket, parts in sorted(by_bucket.items(), reverse=True)][:limit]


def pair_state_list() -> QuerySet[PairState]:
    return PairState.objects.select_related("last_run").order_by("exchange", "symbol")


def coverage_span_list(*, exchange: str, symbol: str) -> QuerySet[CoverageSpan]:
    return CoverageSpan.objects.filter(exchange=exchange, symbol=symbol).order_by("start")


def ingest_run_latest(*, exchange: str, symbol: str, limit: int = 20) -> QuerySet[IngestRun]:
    return IngestRun.objects.filter(exchange=exchange, symbol=symbol).order_by("-started_at", "-pk")[:limit]


def taker_volume_latest_minute(*, pair: Pair) -> datetime | None:
    return (
        TakerVolume.objects.filter(exchange=pair.exchange, symbol=pair.symbol)
        .order_by("-minute")
        .values_list("minute", flat=True)
        .first()
    )
