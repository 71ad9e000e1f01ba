"""Bithumb files: the public ticker (instrument list), the candlestick API's JSON, daily CSVs."""

from __future__ import annotations

import re
from pathlib import Path

from markets.importers.base import (
    _COIN,
    IN_PROGRESS_OFF_GRID,
    KST,
    ParsedCandles,
    ParsedInstruments,
    _Collector,
    _crypto_info,
    _csv_rows,
    _epoch_ms,
    _fail,
    _load_json,
    _need_symbol,
    _on_grid,
    _read_csv,
    _volume_column,
    normalize_interval,
)


def parse_bithumb_ticker(
    path: Path | str, *, exchange: str | None = None, quote: str | None = None
) -> ParsedInstruments:
    """Bithumb ``GET /public/ticker/ALL_<QUOTE>`` JSON -> one instrument per coin ("BTC/KRW").

    ``{"status": "0000", "data": {"BTC": {...}, ..., "date": "<epoch ms>"}}``; the ``date`` key is
    not a coin. The response does not state its quote currency: ``quote`` or, failing that, the
    file name (``..._ALL_KRW.json``) gives it. The listing has no names or sizes.
    """
    path = Path(path)
    quote = quote or (m.group(1) if (m := re.search(r"ALL_([A-Z]+)", path.name)) else None)
    if not quote:
        raise ValueError("can't tell the quote currency: pass --quote KRW (or name the file ..._ALL_KRW.json)")
    doc = _load_json(path)
    if not isinstance(doc, dict) or doc.get("status") != "0000" or not isinstance(doc.get("data"), dict):
        raise _fail(str(path), "top level", 'expected {"status": "0000", "data": {...}} (a Bithumb ticker reply)')
    out = ParsedInstruments(source=str(path))
    for coin, fields in doc["data"].items():
        if coin == "date":
            continue
        out.rows += 1
        if not _COIN.match(coin) or not isinstance(fields, dict):
            raise _fail(str(path), f"data.{coin}", "expected an upper-case coin code with a ticker object")
        out.instruments.append(_crypto_info(exchange or "bithumb", f"{coin}/{quote.upper()}"))
    return out


def parse_bithumb_candlestick(
    path: Path | str, *, exchange: str | None = None, symbol: str | None = None, interval: str | None = None
) -> ParsedCandles:
    """Bithumb ``GET /public/candlestick/<COIN>_<QUOTE>/<interval>`` JSON -> one candle group.

    ``{"status": "0000", "data": [[open_time_ms, open, CLOSE, HIGH, LOW, volume], ...]}`` (Bithumb's
    column order: close comes before high and low). Times are absolute epoch ms. The file names
    neither symbol nor interval: ``symbol`` ("BTC/KRW" or "BTC_KRW") and ``interval`` ("1d" or
    Bithumb's "24h") are required. The reply's last row is the in-progress candle: kept, unless
    Bithumb stamped it with the request time off the interval grid (30m/10m replies), then skipped.
    """
    path = Path(path)
    symbol = _need_symbol("bithumb_candlestick", symbol, "BTC/KRW")
    interval = normalize_interval(interval, fmt="bithumb_candlestick")
    doc = _load_json(path)
    if not isinstance(doc, dict) or doc.get("status") != "0000" or not isinstance(doc.get("data"), list):
        raise _fail(str(path), "top level", 'expected {"status": "0000", "data": [...]} (a Bithumb candlestick reply)')
    info = _crypto_info(exchange or "bithumb", symbol)
    out = _Collector(path)
    for index, row in enumerate(doc["data"]):
        where = f"data[{index}]"
        if not isinstance(row, list) or len(row) != 6:
            raise out.fail(where, "expected [open_time_ms, open, close, high, low, volume]")
        t, o, c, h, lo, v = row
        open_time = _epoch_ms(out.source, where, "open_time_ms", t)
        if index == len(doc["data"]) - 1 and not _on_grid(open_time, interval):
            out.parsed.rows += 1
            out.parsed.skipped[IN_PROGRESS_OFF_GRID] += 1
            continue
        out.add(where, info, interval, open_time, [o, h, lo, c, v])
    return out.result()


def parse_bithumb_daily_csv(
    path: Path | str, *, exchange: str | None = None, symbol: str | None = None, interval: str | None = None
) -> ParsedCandles:
    """Bithumb daily CSV (date_kst, timestamp_ms, open, high, low, close, volume_<coin>) -> one group.

    Open time = ``timestamp_ms`` (absolute); ``date_kst`` must be its KST calendar day. The file
    does not name its pair: ``symbol`` is required ("BTC/KRW"). Interval 1d.
    """
    path = Path(path)
    symbol = _need_symbol("bithumb_daily_csv", symbol, "BTC/KRW")
    interval = normalize_interval(interval, fmt="bithumb_daily_csv", fixed="1d")
    df = _read_csv(path, ["date_kst", "timestamp_ms", "open", "high", "low", "close"])
    volume = _volume_column(path, df)
    info = _crypto_info(exchange or "bithumb", symbol)
    out = _Collector(path)
    rows = 0
    for where, (day, ms, o, h, lo, c, v) in _csv_rows(
        df, ["date_kst", "timestamp_ms", "open", "high", "low", "close", volume]
    ):
        rows += 1
        open_time = _epoch_ms(out.source, where, "timestamp_ms", ms)
        if open_time.astimezone(KST).date().isoformat() != day:
            raise out.fail(where, f"date_kst {day!r} is not the KST day of timestamp_ms {ms}")
        out.add(where, info, interval, open_time, [o, h, lo, c, v])
    return out.result(blank_lines=len(df) - rows)
