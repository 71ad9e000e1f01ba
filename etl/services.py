"""Taker-volume writes: load a transformed batch, import a file, run a live extraction, purge.

How a batch is loaded (``taker_volume_load``, one transaction, the pair's cursor row locked):

1. its continuous spans join the stored coverage (overlapping spans merge; Binance spans whose
   ids meet, last + 1 == first, merge too);
2. a minute the batch saw whole is written from the batch's own sums: it holds every trade of
   that minute, so the row is recomputed from all of them, whatever was there before;
3. a minute it saw in part (the first and last of a file or poll) is skipped when the stored
   row is already complete; otherwise the batch's trades of it go to ``StagedTrade`` (unique
   on the exchange trade id, so a trade already staged is not added twice) and the minute is
   recomputed from all its staged trades;
4. rows of minutes that the grown coverage now contains whole are marked complete.

So every row always equals the sums over all distinct trades ever loaded for its minute, and
loading the same trades again writes the same values: imports are idempotent and a trade
counts once however files and polls overlap. Only partial minutes' trades are staged (a few
thousand rows per load), which keeps a million-trade file to a few hundred row writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from etl import decimals, formats, transform
from etl.conf import etl_setting
from etl.extract import Cursor, ExtractNetworkError, HostSkipped, TradeFeed, feed_for, vouched_start
from etl.models import CoverageSpan, IngestRun, PairState, StagedTrade, TakerVolume
from etl.pairs import Pair
from etl.transform import MAX_SILENCE_US, MINUTE_US, MinuteTotals, Span, TradeBatch

log = logging.getLogger(__name__)

WRITE_BATCH = 2000
_VALUE_FIELDS = [
    "quote",
    "taker_buy_volume",
    "taker_sell_volume",
    "taker_buy_value",
    "taker_sell_value",
    "trade_count",
    "is_complete",
]


def to_datetime(us: int) -> datetime:
    """Epoch µs -> tz-aware UTC datetime (exact: datetimes keep microseconds)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))


def to_us(when: datetime) -> int:
    delta = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def minute_datetime(minute: int) -> datetime:
    return to_datetime(int(minute) * MINUTE_US)


@dataclass
class LoadResult:
    trades: int
    minutes_written: int
    minutes_complete: int
    trades_staged: int
    spans: list[Span] = field(default_factory=list)


# -- coverage ---------------------------------------------------------------------------------


def _merge_coverage(pair: Pair, spans: list[Span]) -> tuple[list[Span], list[tuple[int, int]]]:
    """Store ``spans`` into the pair's coverage, merging; returns the merged spans that now
    contain them and the gaps (µs ranges without trades) that id-joins closed."""
    merged_spans, gaps = [], []
    for span in spans:
        # spans 1 µs apart leave no instant between them (times are whole microseconds)
        touching = Q(start__lte=to_datetime(span.end_us + 1), end__gte=to_datetime(span.start_us - 1))
        if pair.sequential_ids and span.first_id and span.last_id:
            # consecutive ids prove nothing is missing in between (unless the silence is too long to vouch for)
            touching |= Q(
                last_trade_id=str(int(span.first_id) - 1), end__gte=to_datetime(span.start_us - MAX_SILENCE_US)
            )
            touching |= Q(
                first_trade_id=str(int(span.last_id) + 1), start__lte=to_datetime(span.end_us + MAX_SILENCE_US)
            )
        stored = list(CoverageSpan.objects.filter(exchange=pair.exchange, symbol=pair.symbol).filter(touching))
        pieces = [span] + [Span(to_us(s.start), to_us(s.end), s.first_trade_id, s.last_trade_id) for s in stored]
        pieces.sort(key=lambda s: (s.start_us, s.end_us))
        reach = pieces[0].end_us
        for piece in pieces[1:]:
            if piece.start_us > reach + 1:  # joined by ids across a stretch without trades
                gaps.append((reach, piece.start_us))
            reach = max(reach, piece.end_us)
        last = max(pieces, key=lambda s: s.end_us)
        combined = Span(pieces[0].start_us, last.end_us, pieces[0].first_id, last.last_id)
        CoverageSpan.objects.filter(pk__in=[s.pk for s in stored]).delete()
        CoverageSpan.objects.create(
            exchange=pair.exchange,
            symbol=pair.symbol,
            start=to_datetime(combined.start_us),
            end=to_datetime(combined.end_us),
            first_trade_id=combined.first_id,
            last_trade_id=combined.last_id,
        )
        merged_spans = [
            s for s in merged_spans if not (s.start_us >= combined.start_us and s.end_us <= combined.end_us)
        ]
        merged_spans.append(combined)
    return merged_spans, gaps


# -- rows ---------------------------------------------------------------------------------------


def _rows(pair: Pair, sums: pd.DataFrame, base_scale: int, quote_scale: int, complete: np.ndarray) -> list[tuple]:
    """Minute sums in units -> value tuples in ``_ROW_COLUMNS`` order (one Python step per minute)."""
    columns = zip(
        sums.index.to_numpy(),
        sums["buy_base"].to_numpy(),
        sums["sell_base"].to_numpy(),
        sums["buy_quote"].to_numpy(),
        sums["sell_quote"].to_numpy(),
        sums["trades"].to_numpy(),
        complete,
        strict=False,
    )
    return [
        (
            pair.exchange,
            pair.symbol,
            minute_datetime(minute),
            pair.quote,
            decimals.to_decimal(buy_base, base_scale),
            decimals.to_decimal(sell_base, base_scale),
            decimals.to_decimal(buy_quote, quote_scale),
            decimals.to_decimal(sell_quote, quote_scale),
            int(trades),
            bool(done),
        )
        for minute, buy_base, sell_base, buy_quote, sell_quote, trades, done in columns
    ]


_ROW_COLUMNS = ["exchange", "symbol", "minute", *_VALUE_FIELDS]
_STAGE_COLUMNS = [
    "exchange",
    "symbol",
    "trade_id",
    "time",
    "minute",
    "is_buy",
    "base_units",
    "base_scale",
    "quote_units",
    "quote_scale",
    "loaded_at",
]


def _insert_many(model, columns: list[str], rows: list[tuple], *, conflict: str) -> None:
    """``INSERT ... VALUES ... <conflict>`` of many rows, parameterized, on SQLite and PostgreSQL.

    The loads write thousands of rows per call; ``bulk_create`` spends most of its time
    building a model instance and preparing each field per row (4-5x the insert itself), so
    the loads adapt values once with the backend's own adapters and send them directly. Only
    column names (quoted) enter the SQL text.
    """
    if not rows:
        return
    ops = connection.ops
    fields = [model._meta.get_field(name) for name in columns]
    adapters = []
    for model_field in fields:
        kind = model_field.get_internal_type()
        if kind == "DateTimeField":
            adapters.append(ops.adapt_datetimefield_value)
        elif kind == "DecimalField":
            adapters.append(lambda v, f=model_field: ops.adapt_decimalfield_value(v, f.max_digits, f.decimal_places))
        else:
            adapters.append(None)
    params = [tuple(a(v) if a else v for a, v in zip(adapters, row, strict=False)) for row in rows]
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # multi-row VALUES in chunks (psycopg 3 has no execute_values); under 65,535 parameters
            row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
            chunk = max(1, min(WRITE_BATCH, 60000 // len(fields)))
            for start in range(0, len(params), chunk):
                part = params[start : start + chunk]
                cursor.execute(
                    f"INSERT INTO {table} ({names}) VALUES {', '.join([row_marks] * len(part))} {conflict}",
                    [v for row in part for v in row],
                )
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}", params)


def _upsert(rows: list[tuple], progress: Callable[[int], object] | None = None) -> None:
    """Insert or replace minute rows keyed on (exchange, symbol, minute)."""
    updates = ", ".join(
        f"{connection.ops.quote_name(c)} = EXCLUDED.{connection.ops.quote_name(c)}" for c in _VALUE_FIELDS
    )
    for start in range(0, len(rows), WRITE_BATCH):
        chunk = rows[start : start + WRITE_BATCH]
        _insert_many(
            TakerVolume, _ROW_COLUMNS, chunk, conflict=f"ON CONFLICT (exchange, symbol, minute) DO UPDATE SET {updates}"
        )
        if progress is not None:
            progress(len(chunk))


def _stage(pair: Pair, trades: pd.DataFrame, base_scale: int, quote_scale: int) -> int:
    """Insert the trades of partial minutes, skipping ids already staged."""
    now = timezone.now()
    rows = [
        (
            pair.exchange,
            pair.symbol,
            str(trade_id),
            to_datetime(ts),
            minute_datetime(minute),
            bool(is_buy),
            int(base),
            base_scale,
            int(quote),
            quote_scale,
            now,
        )
        for trade_id, ts, minute, is_buy, base, quote in zip(
            trades["trade_id"].to_numpy(),
            trades["ts_us"].to_numpy(),
            trades["minute"].to_numpy(),
            trades["is_buy"].to_numpy(),
            trades["base"].to_numpy(),
            trades["quote"].to_numpy(),
            strict=False,
        )
    ]
    for start in range(0, len(rows), WRITE_BATCH):
        _insert_many(
            StagedTrade,
            _STAGE_COLUMNS,
            rows[start : start + WRITE_BATCH],
            conflict="ON CONFLICT (exchange, symbol, trade_id) DO NOTHING",
        )
    return len(rows)


def _recompute_from_staging(pair: Pair, minutes: np.ndarray) -> tuple[pd.DataFrame, int, int]:
    """Sum all staged trades of ``minutes`` (the same code as a batch: ``sum_by_minute``)."""
    values = list(
        StagedTrade.objects.filter(
            exchange=pair.exchange, symbol=pair.symbol, minute__in=[minute_datetime(m) for m in minutes]
        )
        .order_by("minute")
        .values_list("minute", "is_buy", "base_units", "base_scale", "quote_units", "quote_scale")
    )
    if not values:
        return (
            transform.sum_by_minute(
                np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64), np.zeros(0, np.int64)
            ),
            0,
            0,
        )
    minute_col, is_buy, base, base_scales, quote, quote_scales = (list(col) for col in zip(*values, strict=False))
    minute_idx = np.asarray([to_us(m) // MINUTE_US for m in minute_col], dtype=np.int64)
    base_scale, quote_scale = max(base_scales), max(quote_scales)
    base_units = _common_scale(np.asarray(base, np.int64), np.asarray(base_scales), base_scale)
    quote_units = _common_scale(np.asarray(quote, np.int64), np.asarray(quote_scales), quote_scale)
    sums = transform.sum_by_minute(minute_idx, np.asarray(is_buy, bool), base_units, quote_units)
    return sums, base_scale, quote_scale


def _common_scale(units: np.ndarray, scales: np.ndarray, to_scale: int) -> np.ndarray:
    out = units.copy()
    for scale in np.unique(scales):  # a handful of distinct scales, not one step per trade
        mask = scales == scale
        out[mask] = decimals.rescale(units[mask], int(scale), to_scale)
    return out


def _fill_gaps(pair: Pair, gaps: list[tuple[int, int]]) -> int:
    """Zero rows for the whole minutes inside stretches an id-join proved empty."""
    zero = Decimal(0)
    rows = [
        (pair.exchange, pair.symbol, minute_datetime(minute), pair.quote, zero, zero, zero, zero, 0, True)
        for gap_start, gap_end in gaps
        for minute in range(gap_start // MINUTE_US + 1, gap_end // MINUTE_US)
    ]
    for start in range(0, len(rows), WRITE_BATCH):
        _insert_many(
            TakerVolume,
            _ROW_COLUMNS,
            rows[start : start + WRITE_BATCH],
            conflict="ON CONFLICT (exchange, symbol, minute) DO NOTHING",
        )
    return len(rows)


def _lock_state(pair: Pair) -> PairState:
    PairState.objects.get_or_create(exchange=pair.exchange, symbol=pair.symbol)
    return PairState.objects.select_for_update().get(exchange=pair.exchange, symbol=pair.symbol)


@transaction.atomic
def taker_volume_load(
    *,
    pair: Pair,
    batch: TradeBatch,
    spans: list[Span],
    totals: MinuteTotals,
    cursor: Cursor | None = None,
    run: IngestRun | None = None,
    progress: Callable[[int], object] | None = None,
) -> LoadResult:
    """Write one transformed batch of ``pair`` (see the module docstring for the rules).

    ``cursor``: the live cursor to store when the batch came from a live run (it only moves
    forward). ``run``: set as the pair's last run. ``progress(n)`` is called after each batch
    of ``n`` rows written. Database errors roll everything back.
    """
    state = _lock_state(pair)
    merged, gaps = _merge_coverage(pair, spans)
    frame = totals.frame
    minutes = frame.index.to_numpy()
    complete_in_batch = frame["complete"].to_numpy()

    partial = minutes[~complete_in_batch]
    stored_complete = (
        {
            to_us(m) // MINUTE_US
            for m in TakerVolume.objects.filter(
                exchange=pair.exchange,
                symbol=pair.symbol,
                is_complete=True,
                minute__in=[minute_datetime(m) for m in partial],
            ).values_list("minute", flat=True)
        }
        if partial.size
        else set()
    )
    open_partial = np.asarray([m for m in partial if m not in stored_complete], dtype=np.int64)

    rows = _rows(
        pair,
        frame[complete_in_batch],
        totals.base_scale,
        totals.quote_scale,
        np.ones(int(complete_in_batch.sum()), dtype=bool),
    )
    staged = 0
    if open_partial.size:
        edge = totals.partial_trades
        staged = _stage(
            pair, edge[np.isin(edge["minute"].to_numpy(), open_partial)], totals.base_scale, totals.quote_scale
        )
        sums, base_scale, quote_scale = _recompute_from_staging(pair, open_partial)
        rows += _rows(pair, sums, base_scale, quote_scale, transform.covered(sums.index.to_numpy(), merged))
    _upsert(rows, progress)
    _fill_gaps(pair, gaps)
    for span in merged:  # minutes the grown coverage now holds whole
        TakerVolume.objects.filter(
            exchange=pair.exchange,
            symbol=pair.symbol,
            is_complete=False,
            minute__gte=to_datetime(span.start_us),
            minute__lte=to_datetime(span.end_us - MINUTE_US),
        ).update(is_complete=True)

    if (
        cursor is not None
        and cursor.time_us is not None
        and (state.last_trade_time is None or to_us(state.last_trade_time) <= cursor.time_us)
    ):
        state.last_trade_id, state.last_trade_time = cursor.trade_id or "", to_datetime(cursor.time_us)
    if run is not None:
        state.last_run = run
    state.save()
    return LoadResult(
        trades=len(batch),
        minutes_written=len(rows),
        minutes_complete=sum(r[-1] for r in rows),
        trades_staged=staged,
        spans=spans,
    )


# -- runs ---------------------------------------------------------------------------------------


def _run_start(pair: Pair, kind: str, source: str) -> IngestRun:
    return IngestRun.objects.create(
        exchange=pair.exchange, symbol=pair.symbol, kind=kind, source=source[:500], started_at=timezone.now()
    )


def _run_failed(pair: Pair, run: IngestRun, exc: BaseException) -> None:
    message = f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    IngestRun.objects.filter(pk=run.pk).update(status=IngestRun.Status.FAILED, finished_at=now, error=message)
    PairState.objects.update_or_create(
        exchange=pair.exchange,
        symbol=pair.symbol,
        defaults={"last_error": message, "last_error_at": now, "last_run": run},
    )
    # network trouble is logged once per outage by the host's breaker (markets.sources.retry)
    level = logging.DEBUG if isinstance(exc, ExtractNetworkError) else logging.WARNING
    log.log(level, "taker volume %s %s failed: %s", run.kind, pair.label, message)


def _run_done(
    pair: Pair,
    run: IngestRun,
    *,
    batch: TradeBatch | None,
    duplicates: int,
    result: LoadResult | None,
    requests: int = 0,
) -> IngestRun:
    run.status = IngestRun.Status.OK
    run.finished_at = timezone.now()
    run.trades_read = len(batch) if batch is not None else 0
    run.duplicates = duplicates
    run.trades_staged = result.trades_staged if result else 0
    run.minutes_written = result.minutes_written if result else 0
    run.requests = requests
    if batch is not None and len(batch):
        ts = batch["ts_us"]
        run.first_trade_time, run.last_trade_time = to_datetime(ts.min()), to_datetime(ts.max())
    run.save()
    PairState.objects.filter(exchange=pair.exchange, symbol=pair.symbol).update(
        last_error="", last_error_at=None, last_run=run
    )
    return run


def taker_volume_import_file(
    *, pair: Pair, path: Path | str, fmt: str | None = None, progress: Callable[[int], object] | None = None
) -> IngestRun:
    """Import one recorded trade file of ``pair`` (format given or detected, ``etl.formats``).

    The whole file is parsed and transformed before anything is written, then loaded in one
    transaction. Returns the finished ``IngestRun``; on a bad file (``FormatError``,
    ``ValueError``) or a database error the run is recorded as failed and the error re-raised,
    with nothing else written. The live cursor is not moved.
    """
    run = _run_start(pair, IngestRun.Kind.FILE, str(path))
    try:
        parsed = formats.read_trades(Path(path), fmt=fmt, symbol=pair.symbol)
        batch, duplicates, spans, totals = transform.transform(parsed.frame, pair)
        result = taker_volume_load(pair=pair, batch=batch, spans=spans, totals=totals, run=run, progress=progress)
    except Exception as exc:
        _run_failed(pair, run, exc)
        raise
    return _run_done(pair, run, batch=batch, duplicates=duplicates, result=result)


def taker_volume_live_run(*, pair: Pair, since: datetime | None = None, feed: TradeFeed | None = None) -> IngestRun:
    """Extract ``pair``'s trades since its cursor (or ``since``), transform and load them.

    ``feed`` defaults to the exchange's live feed (``etl.extract.feed_for``). The fetch happens
    before the database transaction; the load and the cursor move commit together. Raises
    ``ExtractNetworkError`` when the network stays down, ``SourceError`` for any other
    exchange error, after recording the failed run (nothing else is written); ``HostSkipped``
    (an ``ExtractNetworkError``) without a request or a run while the exchange's breaker is open.
    """
    state, _ = PairState.objects.get_or_create(exchange=pair.exchange, symbol=pair.symbol)
    cursor = Cursor(state.last_trade_id or None, to_us(state.last_trade_time) if state.last_trade_time else None)
    if feed is None:
        from markets.breakers import breakers

        kwargs = {"max_pages": int(etl_setting("MAX_PAGES")), "max_retries": 2, "breakers": breakers()}
        if pair.exchange == "binanceusdm":
            kwargs["api_key"] = etl_setting("BINANCE_API_KEY")
        feed = feed_for(pair.exchange, **kwargs)
    if feed.breakers is not None and not feed.breakers(feed.exchange).allow():
        # the exchange's breaker is open: no request, no run row (the breaker logged the outage)
        raise HostSkipped(f"{feed.exchange}: breaker open, run skipped")
    run = _run_start(pair, IngestRun.Kind.LIVE, f"{pair.exchange} live")
    try:
        fetched = feed.fetch(pair, cursor, since_us=to_us(since) if since else None)
        IngestRun.objects.filter(pk=run.pk).update(source=fetched.source[:500])
        if fetched.trades.empty:
            return _run_done(pair, run, batch=None, duplicates=0, result=None, requests=fetched.requests)
        batch, duplicates, spans, totals = transform.transform(
            fetched.trades, pair, start_us=vouched_start(fetched.trades, fetched.start_us), end_us=fetched.end_us
        )
        newest_id, newest_us = batch["trade_id"][-1], int(batch["ts_us"][-1])
        end_us = fetched.end_us if fetched.end_us is not None else newest_us
        result = taker_volume_load(
            pair=pair, batch=batch, spans=spans, totals=totals, cursor=Cursor(str(newest_id), end_us), run=run
        )
    except Exception as exc:
        _run_failed(pair, run, exc)
        raise
    return _run_done(pair, run, batch=batch, duplicates=duplicates, result=result, requests=fetched.requests)


def taker_volume_stream_load(
    *, pair: Pair, raw: pd.DataFrame, start_us: int | None, end_us: int | None, source: str = "ws"
) -> IngestRun:
    """Load trades of ``pair`` received on the live WebSocket stream (``etl.live``).

    ``raw``: DataFrame of ``transform.RAW_COLUMNS`` (trade_id, ts_us µs UTC, is_buy = taker
    bought, price and amount as text); ``start_us``/``end_us``: the stretch the stream saw whole
    (``None``: from just after the first trade / to the last trade). Transformed and loaded as
    a live run (kind ``live``, source ``"<exchange> <source>"``), moving the live cursor to the
    newest trade, so the REST live run continues from it. Raises what the transform or the
    database raise, after recording the failed run.
    """
    run = _run_start(pair, IngestRun.Kind.LIVE, f"{pair.exchange} {source}")
    try:
        batch, duplicates, spans, totals = transform.transform(raw, pair, start_us=start_us, end_us=end_us)
        newest_id, newest_us = batch["trade_id"][-1], int(batch["ts_us"][-1])
        result = taker_volume_load(
            pair=pair,
            batch=batch,
            spans=spans,
            totals=totals,
            cursor=Cursor(str(newest_id), end_us if end_us is not None else newest_us),
            run=run,
        )
    except Exception as exc:
        _run_failed(pair, run, exc)
        raise
    return _run_done(pair, run, batch=batch, duplicates=duplicates, result=result)


def staged_trades_purge(*, retention: timedelta | None = None, now: datetime | None = None) -> int:
    """Delete staged trades older than ``retention`` (default ``ETL["STAGING_RETENTION_DAYS"]``)
    whose minute is complete; a minute still waiting for trades keeps them. Returns how many."""
    retention = retention if retention is not None else timedelta(days=int(etl_setting("STAGING_RETENTION_DAYS")))
    cutoff = (now or timezone.now()) - retention
    complete = TakerVolume.objects.filter(
        exchange=OuterRef("exchange"), symbol=OuterRef("symbol"), minute=OuterRef("minute"), is_complete=True
    )
    deleted, _ = StagedTrade.objects.filter(loaded_at__lt=cutoff).filter(Exists(complete)).delete()
    return deleted
