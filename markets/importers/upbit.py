"""Upbit files: ``GET /v1/market/all`` (instruments with Korean/English names) and the candle CSVs."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from markets.importers.base import (
    _UPBIT_MARKET,
    EXACT_DUPLICATE,
    KST,
    ImportFormatError,
    ParsedCandles,
    ParsedInstruments,
    _Collector,
    _crypto_info,
    _csv_rows,
    _day_open,
    _fail,
    _load_json,
    _local_time,
    _no_symbol,
    _read_csv,
    _time,
    normalize_interval,
)
from markets.sources.base import InstrumentInfo


def parse_upbit_markets(path: Path | str, *, exchange: str | None = None) -> ParsedInstruments:
    """Upbit ``GET /v1/market/all`` JSON -> instruments with Korean/English names.

    ``[{"market": "KRW-BTC", "korean_name": "비트코인", "english_name": "Bitcoin"}, ...]``;
    Upbit writes QUOTE-BASE, so "KRW-BTC" -> "BTC/KRW".
    """
    path = Path(path)
    doc = _load_json(path)
    if not isinstance(doc, list):
        raise _fail(str(path), "top level", "expected a JSON array of markets")
    out = ParsedInstruments(source=str(path))
    seen: dict[str, tuple[InstrumentInfo, str]] = {}
    for index, item in enumerate(doc):
        where = f"[{index}]"
        out.rows += 1
        match = _UPBIT_MARKET.match(item.get("market", "")) if isinstance(item, dict) else None
        if not match:
            raise _fail(str(path), where, 'expected an object with market like "KRW-BTC"')
        quote, base = match.groups()
        info = _crypto_info(
            exchange or "upbit",
            f"{base}/{quote}",
            name_ko=str(item.get("korean_name") or ""),
            name_en=str(item.get("english_name") or ""),
        )
        if info.symbol in seen:
            if seen[info.symbol][0] != info:
                raise _fail(str(path), where, f"conflicts with {seen[info.symbol][1]} for {item['market']}")
            out.skipped[EXACT_DUPLICATE] += 1
            continue
        seen[info.symbol] = (info, where)
        out.instruments.append(info)
    return out


def parse_upbit_csv(
    path: Path | str, *, exchange: str | None = None, symbol: str | None = None, interval: str | None = None
) -> ParsedCandles:
    """pyupbit-style Upbit candle CSV -> one group per market.

    Columns: market ("KRW-BTC"), candle_open_kst and/or date_kst, open, high, low, close,
    volume_base (coins), optional value_krw (traded value, KRW -> quote_volume); others ignored.
    Open time = candle_open_kst (KST) when present, else date_kst at 09:00 KST (Upbit's day
    boundary, 00:00 UTC), which only daily files may use. ``interval`` is required ("1d",
    "15m", "60m" -> "1h", ...).
    """
    path = Path(path)
    _no_symbol("upbit_csv", symbol)
    interval = normalize_interval(interval, fmt="upbit_csv")
    df = _read_csv(path, ["market", "open", "high", "low", "close", "volume_base"])
    if "candle_open_kst" in df.columns:
        time_column, to_utc = "candle_open_kst", lambda text: _local_time(text, KST)
    elif "date_kst" in df.columns and interval == "1d":
        time_column, to_utc = "date_kst", lambda text: _day_open(text, 9, KST)
    else:
        raise ImportFormatError(f"{path}, line 1: needs a candle_open_kst column (date_kst alone only for 1d)")
    out = _Collector(path)
    infos: dict[str, InstrumentInfo] = {}
    columns = [
        "market",
        time_column,
        "open",
        "high",
        "low",
        "close",
        "volume_base",
        "value_krw" if "value_krw" in df.columns else None,
    ]
    rows = 0
    for where, (market, when, o, h, lo, c, v, value) in _csv_rows(df, columns):
        rows += 1
        if market not in infos:
            match = _UPBIT_MARKET.match(market)
            if not match:
                raise out.fail(where, f"market {market!r} is not like KRW-BTC")
            infos[market] = _crypto_info(exchange or "upbit", f"{match.group(2)}/{match.group(1)}")
        open_time = _time(out.source, where, time_column, partial(to_utc, when))
        out.add(where, infos[market], interval, open_time, [o, h, lo, c, v], quote_volume=value)
    return out.result(blank_lines=len(df) - rows)
