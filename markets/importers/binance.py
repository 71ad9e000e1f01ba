"""Binance files: data.binance.vision kline CSVs and the klines API's JSON."""

from __future__ import annotations

from datetime import UTC
from functools import partial
from pathlib import Path

from markets.importers.base import (
    ImportFormatError,
    ParsedCandles,
    _Collector,
    _crypto_info,
    _csv_rows,
    _day_open,
    _epoch_ms,
    _fail,
    _load_json,
    _local_time,
    _need_symbol,
    _no_symbol,
    _read_csv,
    _time,
    _volume_column,
    normalize_interval,
    unified_symbol,
)
from markets.sources.base import InstrumentInfo


def parse_binance_csv(
    path: Path | str, *, exchange: str | None = None, symbol: str | None = None, interval: str | None = None
) -> ParsedCandles:
    """Binance kline CSV -> one group per symbol ("SOLUSDT" -> "SOL/USDT").

    Columns: symbol (optional when ``symbol`` is given, e.g. BTCUSDT files without it),
    date_utc (daily, 00:00 UTC) or open_time_utc ("YYYY-MM-DD HH:MM:SS" UTC), open, high, low,
    close, volume_base (or volume_<coin>), optional quote_volume_usdt. Exchange ``binance``
    (spot) unless given. ``interval`` is required with open_time_utc; date_utc means 1d.
    """
    path = Path(path)
    df = _read_csv(path, ["open", "high", "low", "close"])
    if "date_utc" in df.columns:
        time_column, to_utc = "date_utc", lambda text: _day_open(text, 0, UTC)
        interval = normalize_interval(interval, fmt="binance_csv with date_utc", fixed="1d")
    elif "open_time_utc" in df.columns:
        time_column, to_utc = "open_time_utc", lambda text: _local_time(text, UTC)
        interval = normalize_interval(interval, fmt="binance_csv")
    else:
        raise ImportFormatError(f"{path}, line 1: needs a date_utc or open_time_utc column")
    if "symbol" in df.columns:
        _no_symbol("binance_csv", symbol)
    elif not symbol:
        raise ValueError("this binance_csv file has no symbol column; pass --symbol, e.g. BTC/USDT")
    fixed_symbol = unified_symbol(symbol) if symbol else None
    volume = _volume_column(path, df)
    quote_volume = next((c for c in df.columns if c.startswith("quote_volume")), None)
    out = _Collector(path)
    infos: dict[str, InstrumentInfo] = {}
    rows = 0
    columns = [
        "symbol" if fixed_symbol is None else None,
        time_column,
        "open",
        "high",
        "low",
        "close",
        volume,
        quote_volume,
    ]
    for where, (name, when, o, h, lo, c, v, qv) in _csv_rows(df, columns):
        rows += 1
        name = name or fixed_symbol or ""
        if name not in infos:
            try:
                infos[name] = _crypto_info(exchange or "binance", unified_symbol(name))
            except ValueError:
                raise out.fail(where, f"symbol {name!r} is not like SOLUSDT") from None
        open_time = _time(out.source, where, time_column, partial(to_utc, when))
        out.add(where, infos[name], interval, open_time, [o, h, lo, c, v], quote_volume=qv)
    return out.result(blank_lines=len(df) - rows)


def parse_binance_klines(
    path: Path | str, *, exchange: str | None = None, symbol: str | None = None, interval: str | None = None
) -> ParsedCandles:
    """Raw Binance ``GET /api/v3/klines`` JSON -> one group.

    ``[[open_time_ms, open, high, low, close, volume, close_time_ms, quote_volume, trades,
    taker_buy_base, taker_buy_quote, ignore], ...]``; the reply names neither symbol nor interval,
    so both are required ("BTC/USDT" or "BTCUSDT", "1d"). Exchange ``binance`` unless given.
    """
    path = Path(path)
    symbol = _need_symbol("binance_klines", symbol, "BTC/USDT")
    interval = normalize_interval(interval, fmt="binance_klines")
    doc = _load_json(path)
    if not isinstance(doc, list):
        raise _fail(str(path), "top level", "expected a JSON array of klines")
    info = _crypto_info(exchange or "binance", symbol)
    out = _Collector(path)
    for index, row in enumerate(doc):
        where = f"[{index}]"
        if not isinstance(row, list) or len(row) < 6:
            raise out.fail(where, "expected [open_time_ms, open, high, low, close, volume, ...]")
        open_time = _epoch_ms(out.source, where, "open_time_ms", row[0])
        out.add(where, info, interval, open_time, row[1:6], quote_volume=row[7] if len(row) > 7 else None)
    return out.result()
