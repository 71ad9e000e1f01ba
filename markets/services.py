"""Market data writes: idempotent upserts of instruments, candles and tickers.

Every load is an upsert on the natural key, so running an import twice changes nothing.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.db import connection, connections, router, transaction
from django.utils import timezone

from markets.models import Candle, CandleGap, Instrument, Market, Tick, Ticker
from markets.sources.base import INTERVAL_SECONDS, Bar, InstrumentInfo, TickerSnapshot

CANDLE_BATCH_SIZE = 2000
_INSTRUMENT_FIELDS = [
    "market",
    "base",
    "quote",
    "segment",
    "name_ko",
    "name_en",
    "tick_size",
    "lot_size",
    "min_notional",
    "active",
    "kind",
    "underlying",
    "expiry",
    "strike",
    "right",
    "multiplier",
    "market_cap",
    "listed_shares",
    "market_cap_date",
]


@transaction.atomic
def instrument_upsert_many(
    *, infos: Iterable[InstrumentInfo], segments: dict[str, str] | None = None
) -> list[Instrument]:
    """Insert or update instruments keyed on (exchange, symbol).

    A field the incoming record leaves empty (``""`` or ``None``) keeps its stored value, so a
    source without names (Bithumb's ticker list) never wipes names another source gave.
    ``segments`` maps symbol -> KRX board (KOSPI, KOSDAQ...). Returns the instruments, stored.
    """
    infos = list({(i.exchange, i.symbol): i for i in infos}.values())
    if not infos:
        return []
    segments = segments or {}
    existing = {
        (inst.exchange, inst.symbol): inst
        for inst in Instrument.objects.filter(
            exchange__in={i.exchange for i in infos}, symbol__in={i.symbol for i in infos}
        )
    }
    rows = []
    for info in infos:
        inst = existing.get((info.exchange, info.symbol)) or Instrument(exchange=info.exchange, symbol=info.symbol)
        incoming = {
            "market": info.market or Market.CRYPTO,
            "base": info.base,
            "quote": info.quote,
            "segment": segments.get(info.symbol, ""),
            "name_ko": info.name_ko,
            "name_en": info.name_en,
            "tick_size": info.tick_size,
            "lot_size": info.lot_size,
            "min_notional": info.min_notional,
            "active": info.active,
            "kind": info.kind,
            "underlying": info.underlying,
            "expiry": info.expiry,
            "strike": info.strike,
            "right": info.right,
            "multiplier": info.multiplier,
            "market_cap": info.market_cap,
            "listed_shares": info.listed_shares,
            "market_cap_date": info.market_cap_date,
        }
        for field, value in incoming.items():
            if value not in ("", None):
                setattr(inst, field, value)
        rows.append(inst)
    Instrument.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["exchange", "symbol"],
        update_fields=_INSTRUMENT_FIELDS,
    )
    return list(
        Instrument.objects.filter(exchange__in={i.exchange for i in infos}, symbol__in={i.symbol for i in infos})
    )


def candle_upsert_many(*, instrument: Instrument, interval: str, bars: Sequence[Bar]) -> int:
    """Insert or replace candles keyed on (instrument, interval, open_time).

    Call inside ``transaction.atomic`` to make a whole file one unit. Returns the number of
    bars written (inserted or updated).
    """
    rows = [
        Candle(
            instrument=instrument,
            interval=interval,
            open_time=bar.open_time,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
            quote_volume=bar.quote_volume,
        )
        for bar in bars
    ]
    for start in range(0, len(rows), CANDLE_BATCH_SIZE):
        Candle.objects.bulk_create(
            rows[start : start + CANDLE_BATCH_SIZE],
            update_conflicts=True,
            unique_fields=["instrument", "interval", "open_time"],
            update_fields=["open", "high", "low", "close", "volume", "quote_volume"],
        )
    return len(rows)


def candle_upsert_many_sql(*, rows: Sequence[tuple], batch_size: int = 5000) -> int:
    """``candle_upsert_many`` for bulk loads, in plain SQL (one ``INSERT ... ON CONFLICT DO
    UPDATE`` per batch through ``executemany``; PostgreSQL and SQLite >= 3.24): about 10x
    faster than the ORM's ``bulk_create`` on millions of rows, with the same result.

    ``rows``: (instrument_id, interval, open_time aware UTC, open, high, low, close, volume)
    with ``Decimal`` prices and volume; ``quote_volume`` is stored NULL. Call inside
    ``transaction.atomic``. Returns the number of rows written.
    """
    table = Candle._meta.db_table
    quote = connection.ops.quote_name
    columns = ["instrument_id", "interval", "open_time", "open", "high", "low", "close", "volume", "quote_volume"]
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns[3:])
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({quote('instrument_id')}, {quote('interval')}, {quote('open_time')}) DO UPDATE SET {updates}"
    )
    adapt_time = connection.ops.adapt_datetimefield_value
    times: dict = {}
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = []
            for instrument_id, interval, open_time, o, h, lo, c, v in rows[start : start + batch_size]:
                when = times.get(open_time)
                if when is None:
                    when = times[open_time] = adapt_time(open_time)
                batch.append((instrument_id, interval, when, o, h, lo, c, v, None))
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


@transaction.atomic
def ticker_upsert_many(*, snapshots: Iterable[TickerSnapshot], source: str, keep_newer: bool = True) -> list[Ticker]:
    """Store the latest snapshot per instrument; snapshots of unknown instruments are skipped.

    With ``keep_newer`` an older snapshot never overwrites a newer one (live feeds can deliver
    out of order after a reconnect); a looping replay turns it off, since its recorded clock
    starts over. Returns the tickers written.
    """
    snapshots = list(snapshots)
    if not snapshots:
        return []
    instruments = {
        (inst.exchange, inst.symbol): inst
        for inst in Instrument.objects.filter(
            exchange__in={s.exchange for s in snapshots}, symbol__in={s.symbol for s in snapshots}
        ).select_related("ticker")
    }
    rows = []
    for snap in snapshots:
        inst = instruments.get((snap.exchange, snap.symbol))
        if inst is None:
            continue
        current = getattr(inst, "ticker", None)
        if keep_newer and current is not None and current.time > snap.time:
            continue
        ticker = Ticker(
            instrument=inst,
            last_price=snap.last_price,
            change=snap.change,
            change_rate=snap.change_rate,
            volume_24h=snap.volume_24h,
            traded_value_24h=snap.traded_value_24h,
            time=snap.time,
            source=source,
        )
        rows.append(ticker)
    Ticker.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["instrument"],
        update_fields=[
            "last_price",
            "change",
            "change_rate",
            "volume_24h",
            "traded_value_24h",
            "time",
            "source",
            "updated_at",
        ],
    )
    return rows


@dataclass(frozen=True)
class CandlesImportResult:
    instruments_created: int
    instruments_renamed: int
    candles_written: int


@transaction.atomic
def candles_import(
    *,
    groups: Mapping[tuple[str, str, str], Sequence[Bar]],
    instruments: Iterable[InstrumentInfo],
    segments: Mapping[str, str] | None = None,
    progress: Callable[[int], object] | None = None,
    plain_sql: bool = False,
) -> CandlesImportResult:
    """Store parsed candle groups in ONE transaction, creating the instruments they need.

    ``groups``: (exchange, symbol, interval) -> bars (``markets.importers.ParsedCandles.groups``);
    ``instruments`` must describe every (exchange, symbol) of ``groups``; ``segments``: KRX code ->
    board. A missing instrument is created from its info. A stored one only takes the names and
    board the file brings (when non-empty): ``active``, tick and lot size belong to the listing
    sources and a candle file must not flip them. ``progress(n)`` is called after each batch of
    ``n`` candles. Candles are upserted, so a re-import changes nothing. Raises ``ValueError`` when
    a group has no instrument info; database errors roll the whole import back. ``plain_sql``
    writes through ``candle_upsert_many_sql`` (bulk loads; ``quote_volume`` NULL).
    """
    segments = dict(segments or {})
    infos = {(i.exchange, i.symbol): i for i in instruments}
    keys = {(exchange, symbol) for exchange, symbol, _ in groups}
    if keys - infos.keys():
        raise ValueError(f"no instrument info for {sorted(keys - infos.keys())}")
    stored = {
        (inst.exchange, inst.symbol): inst
        for inst in Instrument.objects.filter(exchange__in={k[0] for k in keys}, symbol__in={k[1] for k in keys})
    }
    renamed = []
    for key in keys & stored.keys():
        inst, info = stored[key], infos[key]
        fresh = {"name_ko": info.name_ko, "name_en": info.name_en, "segment": segments.get(info.symbol, "")}
        changes = {f: v for f, v in fresh.items() if v and getattr(inst, f) != v}
        if changes:
            for f, v in changes.items():
                setattr(inst, f, v)
            inst.updated_at = timezone.now()  # bulk_update skips auto_now
            renamed.append(inst)
    Instrument.objects.bulk_update(renamed, ["name_ko", "name_en", "segment", "updated_at"])
    missing = keys - stored.keys()
    if missing:
        created = instrument_upsert_many(infos=[infos[k] for k in missing], segments=segments)
        stored.update({(i.exchange, i.symbol): i for i in created if (i.exchange, i.symbol) in missing})

    written = 0
    if plain_sql:
        if any(bar.quote_volume is not None for bars in groups.values() for bar in bars):
            raise ValueError("plain_sql stores no quote_volume; use the ORM path for bars that have one")
        rows = [
            (stored[(e, s)].pk, i, b.open_time, b.open, b.high, b.low, b.close, b.volume)
            for (e, s, i), bars in groups.items()
            for b in bars
        ]
        written = candle_upsert_many_sql(rows=rows)
        if progress is not None:
            progress(written)
        return CandlesImportResult(
            instruments_created=len(missing), instruments_renamed=len(renamed), candles_written=written
        )
    for (exchange, symbol, interval), bars in groups.items():
        instrument = stored[(exchange, symbol)]
        for start in range(0, len(bars), CANDLE_BATCH_SIZE):
            batch = bars[start : start + CANDLE_BATCH_SIZE]
            written += candle_upsert_many(instrument=instrument, interval=interval, bars=batch)
            if progress is not None:
                progress(len(batch))
    return CandlesImportResult(
        instruments_created=len(missing), instruments_renamed=len(renamed), candles_written=written
    )


def candles_refresh(*, instrument: Instrument, interval: str, since, source=None) -> int:
    """Fetch ``instrument``'s candles from ``since`` (aware datetime) from its exchange through
    ccxt and upsert them; returns the number written. The newest candle may still be in
    progress: a later refresh overwrites it with the final values.

    Raises ``ValueError`` for an instrument no live source serves (KRX) and the source's
    network error once its retries are spent. ``source`` (a ``MarketSource``) is for callers
    that already hold one.
    """
    from markets.sources import CCXT_EXCHANGES, get_source

    if source is None:
        if instrument.exchange not in CCXT_EXCHANGES:
            raise ValueError(f"no live candle source for {instrument}")
        from markets.breakers import breakers

        source = get_source(instrument.exchange, breakers=breakers())
    bars = list(source.ohlcv(instrument.symbol, interval, since=since))
    with transaction.atomic():
        return candle_upsert_many(instrument=instrument, interval=interval, bars=bars)


def tick_insert_many(*, ticks: Sequence[Tick], batch_size: int = 2000) -> int:
    """Insert ticks, ignoring those already stored (unique instrument, kind, session_date,
    sequence), so a re-import changes nothing. Returns the number of new rows.

    PostgreSQL: the ticks are ``COPY``-ed into a session temporary table, then moved with one
    ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (its row count is the number inserted).
    Other databases (SQLite): one multi-row ``INSERT ... ON CONFLICT DO NOTHING`` per
    ``batch_size`` ticks (fewer when the database caps query parameters). No count query runs
    (the earlier count before and after grew with the table). All in one transaction (a
    savepoint inside the caller's): a ``DatabaseError`` (e.g. a trade with price 0) writes
    nothing of the call. Measured by ``bench/kis.py``.
    """
    if not ticks:
        return 0
    fields = [f for f in Tick._meta.concrete_fields if not f.primary_key]
    connection = connections[router.db_for_write(Tick)]
    ops = connection.ops
    table = ops.quote_name(Tick._meta.db_table)
    columns = ", ".join(ops.quote_name(str(f.column)) for f in fields)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _tick_copy(cursor, ticks, fields, table, columns)
        # PostgreSQL takes at most 65,535 parameters a query; SQLite's cap is in bulk_batch_size
        size = max(1, min(batch_size, 65_535 // len(fields), ops.bulk_batch_size(fields, list(ticks))))
        placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
        inserted = 0
        for start in range(0, len(ticks), size):
            chunk = ticks[start : start + size]
            params = [f.get_db_prep_save(f.pre_save(tick, True), connection) for tick in chunk for f in fields]
            values = ", ".join([placeholder] * len(chunk))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values} ON CONFLICT DO NOTHING", params)
            inserted += cursor.rowcount
        return inserted


def _tick_copy(cursor, ticks: Sequence[Tick], fields: list, table: str, columns: str) -> int:
    import json

    staging = "markets_tick_incoming"
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS"
        f" AS SELECT {columns} FROM {table} WITH NO DATA"
    )
    attnames = [f.attname for f in fields]
    json_at = attnames.index("extra")
    with cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
        for tick in ticks:
            row = [getattr(tick, name) for name in attnames]
            row[json_at] = json.dumps(row[json_at], ensure_ascii=False)
            copy.write_row(row)
    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} ON CONFLICT DO NOTHING")
    inserted = cursor.rowcount
    cursor.execute(f"TRUNCATE {staging}")
    return inserted


# -- incremental candle crawl -----------------------------------------------------------------

CRAWL_BACKFILL = {"1d": timedelta(days=400), "1h": timedelta(days=30)}
"""How far back the first crawl of a series starts (no candle stored yet)."""


@dataclass(frozen=True)
class CrawlResult:
    """One instrument's crawl: ``written`` candles upserted, ``gaps`` recorded, ``since`` the
    open time the fetch started from (aware UTC)."""

    written: int
    gaps: int
    since: datetime


def candle_gaps_detect(*, instrument: Instrument, interval: str) -> list[tuple[datetime, datetime, int]]:
    """Runs of missing open times between the stored candles of the series, as
    ``(first missing, last missing, count)``; the interval's fixed step is the rule (crypto
    trades around the clock; a KRX daily series is not crawled here)."""
    step = timedelta(seconds=INTERVAL_SECONDS[interval])
    times = Candle.objects.filter(instrument=instrument, interval=interval).order_by("open_time")
    gaps = []
    previous = None
    for t in times.values_list("open_time", flat=True).iterator():
        if previous is not None and t - previous > step:
            missing = int((t - previous) / step) - 1
            if missing > 0:
                gaps.append((previous + step, previous + step * missing, missing))
        previous = t
    return gaps


def candles_crawl(
    *, instrument: Instrument, interval: str, source, now: datetime | None = None, backfill: timedelta | None = None
) -> CrawlResult:
    """Fetch ``instrument``'s candles from its newest stored candle on (inclusive: it may have
    been in progress) or, for a new series, from ``now - backfill`` (``CRAWL_BACKFILL``),
    through ``source.ohlcv`` (paginated with ``since``), then upsert them and recompute the
    series' gaps (``CandleGap``) in one transaction: a crawl writes the whole batch or nothing.
    Idempotent: running it again rewrites the same values. ``source``: a ``MarketSource``;
    its errors (network, ``SourceError``) propagate with nothing written."""
    now = now or timezone.now()
    last = (
        Candle.objects.filter(instrument=instrument, interval=interval)
        .order_by("-open_time")
        .values_list("open_time", flat=True)
    ).first()
    since = last if last is not None else now - (backfill or CRAWL_BACKFILL.get(interval, timedelta(days=30)))
    bars = list(source.ohlcv(instrument.symbol, interval, since=since, until=now))
    with transaction.atomic():
        written = candle_upsert_many(instrument=instrument, interval=interval, bars=bars)
        gaps = candle_gaps_detect(instrument=instrument, interval=interval)
        CandleGap.objects.filter(instrument=instrument, interval=interval).delete()
        CandleGap.objects.bulk_create(
            [
                CandleGap(instrument=instrument, interval=interval, start=start, end=end, missing=missing)
                for start, end, missing in gaps
            ]
        )
    return CrawlResult(written=written, gaps=len(gaps), since=since)


# -- 1-minute candles from executions ----------------------------------------------------------

MINUTE = timedelta(minutes=1)


def minute_bars(trades: Iterable[tuple[datetime, Decimal, Decimal]], *, multiplier: Decimal | None = None) -> list[Bar]:
    """OHLCV 1-minute bars of executions ``(exchange_time UTC, price, size)`` given in trade order
    (exchange time, then arrival): open = the minute's first price, close its last, volume the sum
    of sizes (contracts or shares), ``quote_volume`` the sum of price x size x ``multiplier`` (KRW
    per index point for derivatives; 1 when None: stocks in KRW). Bars open on the minute (KST and
    UTC minutes coincide), ascending; minutes without trades have no bar."""
    unit = multiplier if multiplier is not None else Decimal(1)
    minutes: list = []  # [open_time, open, high, low, close, volume, value] per minute
    for when, price, size in trades:
        opened = when.replace(second=0, microsecond=0)
        if not minutes or minutes[-1][0] != opened:
            if minutes and opened < minutes[-1][0]:
                raise ValueError(f"trades out of order: {when} after the minute {minutes[-1][0]}")
            minutes.append([opened, price, price, price, price, size, price * size * unit])
            continue
        bar = minutes[-1]
        bar[2] = max(bar[2], price)
        bar[3] = min(bar[3], price)
        bar[4] = price
        bar[5] += size
        bar[6] += price * size * unit
    return [Bar(*bar) for bar in minutes]


def trade_spans(ticks: Iterable[Any]) -> dict[int, tuple[datetime, datetime]]:
    """``{instrument_id: (first, last exchange_time)}`` of the trade ticks among ``ticks``
    (``Tick`` rows or anything with ``instrument_id``, ``kind`` and ``exchange_time``)."""
    spans: dict[int, tuple[datetime, datetime]] = {}
    for tick in ticks:
        if tick.kind != "trade":
            continue
        first, last = spans.get(tick.instrument_id, (tick.exchange_time, tick.exchange_time))
        spans[tick.instrument_id] = (min(first, tick.exchange_time), max(last, tick.exchange_time))
    return spans


@transaction.atomic
def candles_1m_from_ticks(*, spans: dict[int, tuple[datetime, datetime]]) -> int:
    """Rebuild the 1-minute candles (interval ``1m``) of each instrument for every minute from
    ``first`` to ``last`` of its span, from the trade ticks stored (so a batch that adds trades to
    a minute already built, or a re-import, gives the same bar as building it at once). Returns
    the candles written. Idempotent upsert on (instrument, interval, open_time)."""
    written = 0
    instruments = Instrument.objects.in_bulk(list(spans))
    for instrument_id, (first, last) in spans.items():
        instrument = instruments.get(instrument_id)
        if instrument is None:
            continue
        start, end = first.replace(second=0, microsecond=0), last.replace(second=0, microsecond=0) + MINUTE
        trades = (
            Tick.objects.filter(
                instrument_id=instrument_id, kind="trade", exchange_time__gte=start, exchange_time__lt=end
            )
            .order_by("exchange_time", "sequence")
            .values_list("exchange_time", "price", "size")
        )
        multiplier = Decimal(instrument.multiplier) if instrument.multiplier is not None else None
        # trades have a price and a size (tick_trade_has_price_size)
        rows = cast(Iterable[tuple[datetime, Decimal, Decimal]], trades.iterator(chunk_size=5000))
        bars = minute_bars(rows, multiplier=multiplier)
        written += candle_upsert_many(instrument=instrument, interval="1m", bars=bars)
    return written


# -- tick retention ---------------------------------------------------------------------------


def ticks_purge(*, older_than: datetime, batch_size: int = 10_000) -> int:
    """Delete ticks whose ``exchange_time`` is before ``older_than`` (UTC), ``batch_size`` rows a
    transaction (oldest first, by primary key), so the purge of a month of ticks neither holds one
    long transaction nor locks newer rows. Returns how many were deleted. Candles built from them
    are kept. Run by the retention job (``markets.tasks.ticks_retention``)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Tick.objects.filter(exchange_time__lt=older_than)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            count, _ = Tick.objects.filter(pk__in=ids).delete()
            deleted += count
        if len(ids) < batch_size:
            return deleted
