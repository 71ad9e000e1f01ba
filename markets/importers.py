"""Parsers for recorded market-data files: instrument lists and OHLCV candles.

Pure parsing, no Django: every ``parse_<format>`` reads one file and returns source-neutral
records (``markets.sources.base``), validated row by row. Storing them is the job of
``markets.services`` (``instrument_upsert_many``, ``candles_import``).

Conventions:

* CSVs are read with pandas as text (``dtype=str``), gzipped when the name ends in ``.gz``;
  numbers become ``Decimal`` straight from the file text (JSON floats via ``parse_float=Decimal``),
  never through ``float``.
* Times become tz-aware UTC candle OPEN times. Upbit and Bithumb state candle times in KST;
  an Upbit day opens 09:00 KST (= 00:00 UTC), a Bithumb or KRX day at 00:00 KST (15:00 UTC the
  day before); epoch milliseconds and Binance times are already absolute/UTC.
* Any invalid row raises ``ImportFormatError`` naming the file and where in it (CSV: physical
  line, header = line 1; JSON: element, e.g. ``data[17]``) and the problem. Rows the format
  defines as not-a-candle (KRX trading halts, exact duplicate rows, blank lines) are skipped and
  counted per reason.

Sources and quirks of the files are described in ``markets/data/SOURCE.md`` and
``../shared/data/*/SOURCE.md``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd

from markets.sources.base import INTERVAL_SECONDS, INTERVALS, Bar, InstrumentInfo, ms_to_utc

# Korea has kept UTC+9 without DST since 1988, so a fixed offset is exact for every file here
# and needs no tz database.
KST = timezone(timedelta(hours=9), "KST")

HALT = "KRX trading halt (open=high=low=0)"
HALT_FLAT = "KRX trading halt (volume 0, open=high=low=close)"
EXACT_DUPLICATE = "exact duplicate row"
BLANK = "blank line"
IN_PROGRESS_OFF_GRID = "in-progress last candle stamped with the request time (off the interval grid)"
OUTSIDE_RANGE = "open/close outside high-low by <= 1 % (real KRX rows), kept as recorded"

# pykrx's KRX rows put the close (rarely the open) up to 0.5 % outside [low, high] on ~85 of
# 986,298 rows (e.g. 012450 2025-05-07 close 876,388 > high 876,387). They are the record, so they
# are kept; anything further out is still an error.
KRX_RANGE_TOLERANCE = Decimal("0.01")

_OHLCV = ("open", "high", "low", "close", "volume")
_INTERVAL_ALIASES = {"60m": "1h", "240m": "4h", "24h": "1d", "1440m": "1d", "day": "1d", "days": "1d"}
# Binance quote assets, longest first so "FDUSD" wins over a shorter suffix.
_BINANCE_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "KRW")
_UPBIT_MARKET = re.compile(r"^([A-Z0-9]+)-([A-Z0-9]+)$")
_COIN = re.compile(r"^[A-Z0-9]+$")
_KRX_CODE = re.compile(r"^[0-9A-Z]{6}$")


class ImportFormatError(ValueError):
    """A file (or one row of it) does not match its format; the message names file and line."""


@dataclass
class ParsedCandles:
    """Candles of one file, grouped and validated.

    ``groups``: (exchange, symbol, interval) -> bars sorted by ``open_time``, unique per time.
    ``instruments``: (exchange, symbol) -> ``InstrumentInfo`` for every group (names when the
    file has them). ``segments``: KRX code -> board (KOSPI, KOSDAQ...). ``rows``: data rows read.
    ``skipped``: reason -> rows not turned into candles. ``kept_quirks``: reason -> rows kept as
    recorded although unusual.
    """

    source: str
    groups: dict[tuple[str, str, str], list[Bar]] = field(default_factory=dict)
    instruments: dict[tuple[str, str], InstrumentInfo] = field(default_factory=dict)
    segments: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    skipped: Counter = field(default_factory=Counter)
    kept_quirks: Counter = field(default_factory=Counter)

    @property
    def candles(self) -> int:
        return sum(len(bars) for bars in self.groups.values())


@dataclass
class ParsedInstruments:
    """Instruments of one listing file. ``segments``: KRX code -> board; ``rows``: entries read;
    ``skipped``: reason -> entries not turned into instruments."""

    source: str
    instruments: list[InstrumentInfo] = field(default_factory=list)
    segments: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    skipped: Counter = field(default_factory=Counter)


# -- shared helpers -----------------------------------------------------------------------------


def normalize_interval(interval: str | None, *, fmt: str, fixed: str | None = None) -> str:
    """``interval`` as one of ``INTERVALS`` ("60m" -> "1h", "24h" -> "1d", "15min" -> "15m").

    ``fixed``: the only interval the format can hold (used when ``interval`` is None). Raises
    ``ValueError`` when the interval is missing, unknown or contradicts ``fixed``.
    """
    if interval is None:
        if fixed is None:
            raise ValueError(f"{fmt} needs an interval (--interval, one of {', '.join(INTERVALS)})")
        return fixed
    text = interval.strip().replace("min", "m")  # not lower(): ccxt "1M" is a month
    text = _INTERVAL_ALIASES.get(text, text)
    if text not in INTERVALS:
        raise ValueError(f"unsupported interval {interval!r}; expected one of {', '.join(INTERVALS)}")
    if fixed is not None and text != fixed:
        raise ValueError(f"{fmt} holds {fixed} candles only, not {interval!r}")
    return text


def split_symbol(symbol: str) -> tuple[str, str]:
    """Unified "BTC/KRW" (also "BTC/USDT:USDT") -> ("BTC", "KRW")."""
    base, _, rest = symbol.partition("/")
    return base, rest.split(":")[0]


def unified_symbol(text: str) -> str:
    """A symbol given on the command line -> ccxt unified: "BTC/KRW" and "BTC_KRW" -> "BTC/KRW",
    "BTCUSDT" -> "BTC/USDT" (Binance spelling). Raises ``ValueError`` when it can't tell."""
    text = text.strip().upper()
    if "/" in text:
        base, quote = split_symbol(text)
        if base and quote:
            return text
    elif text.count("_") == 1:
        base, quote = text.split("_")
        if base and quote:
            return f"{base}/{quote}"
    else:
        for quote in _BINANCE_QUOTES:
            if text.endswith(quote) and len(text) > len(quote):
                return f"{text[: -len(quote)]}/{quote}"
    raise ValueError(f"can't read symbol {text!r}; write it as BASE/QUOTE, e.g. BTC/KRW")


def _crypto_info(exchange: str, symbol: str, *, name_ko: str = "", name_en: str = "") -> InstrumentInfo:
    base, quote = split_symbol(symbol)
    return InstrumentInfo(
        exchange=exchange, symbol=symbol, base=base, quote=quote, market="crypto", name_ko=name_ko, name_en=name_en
    )


def _krx_info(code: str, name: str) -> InstrumentInfo:
    return InstrumentInfo(
        exchange="krx", symbol=code, base=code, quote="KRW", market="krx", name_ko=name, lot_size=Decimal(1)
    )


def _no_symbol(fmt: str, symbol: str | None) -> None:
    if symbol is not None:
        raise ValueError(f"{fmt} files name their own symbols; drop --symbol")


def _need_symbol(fmt: str, symbol: str | None, example: str) -> str:
    if not symbol:
        raise ValueError(f"{fmt} needs --symbol, e.g. {example}")
    return unified_symbol(symbol)


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _load_json(path: Path):
    try:
        with _open(path) as fh:
            return json.load(fh, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path}: can't read the file ({exc})") from exc


def _read_csv(path: Path, required: Iterable[str]) -> pd.DataFrame:
    """The CSV as text, blank lines kept (as all-empty rows) so row i is physical line i + 2."""
    try:
        df = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            compression="gzip" if path.suffix == ".gz" else None,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ImportFormatError(f"{path}: {exc}") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ImportFormatError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
    return df.fillna("")


def _csv_rows(df: pd.DataFrame, columns: Sequence[str | None]) -> Iterator[tuple[str, list[str]]]:
    """("line N", values) per data row; a ``None`` column yields ``""``; blank lines are dropped
    here and must be counted by the caller (``len(df)`` minus rows yielded)."""
    empty = [""] * len(df)
    series = [df[c].tolist() if c is not None else empty for c in columns]
    for index, raw in enumerate(zip(*series, strict=True)):
        values = [v.strip() for v in raw]
        if not any(values) and not any(df.iloc[index].str.strip()):
            continue
        yield f"line {index + 2}", values


def _fail(source: str, where: str, problem: str) -> ImportFormatError:
    return ImportFormatError(f"{source}, {where}: {problem}")


def _decimal(source: str, where: str, name: str, value) -> Decimal:
    """File text (whitespace allowed), a JSON int or a ``Decimal`` -> finite ``Decimal``."""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        number = None
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _fail(source, where, f"{name} is empty")
    if number is None or isinstance(value, bool | float):  # a float has lost the file's digits
        raise _fail(source, where, f"{name} {value!r} is not a number")
    if not number.is_finite():
        raise _fail(source, where, f"{name} {value!r} is not a finite number")
    return number


def _epoch_ms(source: str, where: str, name: str, value) -> datetime:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise _fail(source, where, f"{name} {value!r} is not epoch milliseconds")
    return ms_to_utc(int(text))


@lru_cache(maxsize=8192)
def _day_open(text: str, hour: int, tz: timezone) -> datetime:
    """ "YYYY-MM-DD" -> ``hour``:00 in ``tz`` of that day, as UTC (cached: dates repeat per symbol)."""
    day = date.fromisoformat(text)
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)


@lru_cache(maxsize=8192)
def _local_time(text: str, tz: timezone) -> datetime:
    """ "YYYY-MM-DD HH:MM[:SS]" in ``tz`` (an explicit offset in the text wins) -> UTC."""
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=tz)).astimezone(UTC)


def _time(source: str, where: str, name: str, parse: Callable[[], datetime]) -> datetime:
    try:
        return parse()
    except ValueError:
        raise _fail(source, where, f"{name} is not a valid date/time") from None


def _on_grid(open_time: datetime, interval: str) -> bool:
    """Sub-daily candles open on the UTC epoch grid (KST is a whole-hour offset), so a miss means
    a wrong interval. Daily candles are exempt: Bithumb stamps its in-progress day 11:00 KST."""
    seconds = INTERVAL_SECONDS[interval]
    return seconds >= 86400 or int(open_time.timestamp()) % seconds == 0


class _Collector:
    """Validates bars one by one, drops exact duplicates, groups them; ``result()`` sorts."""

    def __init__(
        self, path: Path, *, halts: str = "error", range_tolerance: Decimal = Decimal(0), flat_halts: bool = False
    ) -> None:
        self.source = str(path)
        self.halts = halts  # "error" | "skip" | "keep"
        # KRX files also carry halts as volume 0 with open = high = low = close (the last close)
        self.flat_halts = flat_halts
        self.range_tolerance = range_tolerance
        self.parsed = ParsedCandles(source=self.source)
        self._seen: dict[tuple, tuple[Bar, str]] = {}

    def fail(self, where: str, problem: str) -> ImportFormatError:
        return _fail(self.source, where, problem)

    def add(
        self, where: str, info: InstrumentInfo, interval: str, open_time: datetime, values: list, quote_volume=None
    ) -> None:
        """``values`` = [open, high, low, close, volume] as text (or Decimal/int from JSON)."""
        self.parsed.rows += 1
        o, h, lo, c, v = [_decimal(self.source, where, n, x) for n, x in zip(_OHLCV, values, strict=True)]
        qv = None if quote_volume in (None, "") else _decimal(self.source, where, "quote volume", quote_volume)
        if o == h == lo == 0 and c > 0:
            if self.halts == "skip":
                self.parsed.skipped[HALT] += 1
                return
            if self.halts != "keep":
                raise self.fail(where, "open, high and low are 0")
        elif self.flat_halts and v == 0 and o == h == lo == c and c > 0 and self.halts != "error":
            if self.halts == "skip":
                self.parsed.skipped[HALT_FLAT] += 1
                return
        else:
            self._check_prices(where, o, h, lo, c)
        if v < 0 or (qv is not None and qv < 0):
            raise self.fail(where, "volume is negative")
        if not _on_grid(open_time, interval):
            raise self.fail(
                where, f"open time {open_time:%Y-%m-%d %H:%M} UTC is not on the {interval} grid (wrong --interval?)"
            )
        bar = Bar(open_time=open_time, open=o, high=h, low=lo, close=c, volume=v, quote_volume=qv)
        group = (info.exchange, info.symbol, interval)
        previous = self._seen.get((group, open_time))
        if previous is not None:
            if previous[0] != bar:
                raise self.fail(
                    where,
                    f"conflicts with {previous[1]}: two different {info.symbol} {interval} candles at {open_time:%Y-%m-%d %H:%M} UTC",
                )
            self.parsed.skipped[EXACT_DUPLICATE] += 1
            return
        self._seen[(group, open_time)] = (bar, where)
        self.parsed.groups.setdefault(group, []).append(bar)
        self.parsed.instruments[(info.exchange, info.symbol)] = info

    def _check_prices(self, where: str, o: Decimal, h: Decimal, lo: Decimal, c: Decimal) -> None:
        for name, price in (("open", o), ("high", h), ("low", lo), ("close", c)):
            if price <= 0:
                raise self.fail(where, f"{name} {price} is not positive")
        if h < lo:
            raise self.fail(where, f"high {h} < low {lo}")
        top, bottom = max(o, c), min(o, c)
        if top <= h and bottom >= lo:
            return
        slack = h * self.range_tolerance
        if top > h + slack:
            raise self.fail(where, f"high {h} < max(open, close) {top}")
        if bottom < lo - slack:
            raise self.fail(where, f"low {lo} > min(open, close) {bottom}")
        self.parsed.kept_quirks[OUTSIDE_RANGE] += 1

    def result(self, *, blank_lines: int = 0) -> ParsedCandles:
        """The parsed file, groups sorted by open time; ``blank_lines`` are counted as skipped."""
        if blank_lines:
            self.parsed.skipped[BLANK] += blank_lines
        for bars in self.parsed.groups.values():
            bars.sort(key=lambda bar: bar.open_time)
        return self.parsed


# -- instrument lists ---------------------------------------------------------------------------


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


def parse_krx_tickers(path: Path | str, *, exchange: str | None = None) -> ParsedInstruments:
    """``krx_tickers.csv`` (code,name,market,...,listed_on_<YYYY_MM_DD>) -> KRX stocks.

    symbol = base = the 6-char code kept as text ("00088K"), quote KRW, lot size 1 share,
    segment = ``market`` (KOSPI, KOSDAQ, KOSDAQ GLOBAL, KONEX), active = listed on that date ("1").
    When the file has them, ``marcap_krw`` (whole KRW), ``shares`` (listed shares) and
    ``last_seen_date`` (YYYY-MM-DD) become ``market_cap``, ``listed_shares`` and
    ``market_cap_date``; all three or none per row.
    """
    path = Path(path)
    if exchange not in (None, "krx"):
        raise ValueError("krx_tickers lists KRX stocks; exchange must be krx")
    df = _read_csv(path, ["code", "name", "market"])
    listed = next((c for c in df.columns if c.startswith("listed_on_")), None)
    size_columns = [c if c in df.columns else None for c in ("marcap_krw", "shares", "last_seen_date")]
    out = ParsedInstruments(source=str(path))
    seen: dict[str, str] = {}
    rows = list(_csv_rows(df, ["code", "name", "market", listed, *size_columns]))
    if len(df) > len(rows):
        out.skipped[BLANK] = len(df) - len(rows)
    for where, (code, name, board, active, marcap, shares, day) in rows:
        out.rows += 1
        if not _KRX_CODE.match(code):
            raise _fail(str(path), where, f"code {code!r} is not a 6-character KRX code")
        if not name or not board:
            raise _fail(str(path), where, "name and market must not be empty")
        if listed and active not in ("0", "1"):
            raise _fail(str(path), where, f"{listed} {active!r} is not 0 or 1")
        if code in seen:
            raise _fail(str(path), where, f"code {code} already listed on {seen[code]}")
        seen[code] = where
        info = _krx_info(code, name)
        if listed and active != "1":
            info = replace(info, active=False)
        if marcap or shares or day:
            info = replace(info, **_krx_size(str(path), where, marcap, shares, day))
        out.instruments.append(info)
        out.segments[code] = board
    return out


def _krx_size(source: str, where: str, marcap: str, shares: str, day: str) -> dict:
    """``market_cap`` / ``listed_shares`` / ``market_cap_date`` of one krx_tickers row."""
    if not (marcap.isdigit() and shares.isdigit()):
        raise _fail(source, where, f"marcap_krw {marcap!r} and shares {shares!r} must be whole numbers >= 0")
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise _fail(source, where, f"last_seen_date {day!r} is not a date YYYY-MM-DD") from None
    return {"market_cap": Decimal(marcap), "listed_shares": int(shares), "market_cap_date": on}


# -- candles ------------------------------------------------------------------------------------


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


def _volume_column(path: Path, df: pd.DataFrame) -> str:
    """The base-volume column: ``volume_base`` or the single ``volume_<coin>`` (e.g. volume_btc)."""
    if "volume_base" in df.columns:
        return "volume_base"
    found = [c for c in df.columns if re.fullmatch(r"volume_[a-z0-9]+", c)]
    if len(found) != 1:
        raise ImportFormatError(f"{path}, line 1: expected one volume column (volume_base or volume_<coin>)")
    return found[0]


def parse_investing_csv(
    path: Path | str, *, exchange: str | None = None, symbol: str | None = None, interval: str | None = None
) -> ParsedCandles:
    """investing.com-style daily CSV (symbol "BTC_KRW", date, open, high, low, close,
    volume_base_approx, change_pct) -> one group per symbol. Interval 1d.

    The export does not say which exchange it quotes (investing.com's KRW crypto pages use
    Bithumb), so ``exchange`` is required; days open 00:00 KST. Volumes are approximate (the
    source rounds "21.58K").
    """
    path = Path(path)
    if not exchange:
        raise ValueError("investing_csv needs --exchange (the file does not name its exchange; e.g. bithumb)")
    _no_symbol("investing_csv", symbol)
    interval = normalize_interval(interval, fmt="investing_csv", fixed="1d")
    df = _read_csv(path, ["symbol", "date", "open", "high", "low", "close", "volume_base_approx"])
    out = _Collector(path)
    infos: dict[str, InstrumentInfo] = {}
    rows = 0
    for where, (name, day, o, h, lo, c, v) in _csv_rows(
        df, ["symbol", "date", "open", "high", "low", "close", "volume_base_approx"]
    ):
        rows += 1
        if name not in infos:
            base, _, quote = name.partition("_")
            if not (_COIN.match(base) and _COIN.match(quote)):
                raise out.fail(where, f"symbol {name!r} is not like BTC_KRW")
            infos[name] = _crypto_info(exchange, f"{base}/{quote}")
        open_time = _time(out.source, where, "date", partial(_day_open, day, 0, KST))
        out.add(where, infos[name], interval, open_time, [o, h, lo, c, v])
    return out.result(blank_lines=len(df) - rows)


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


def parse_krx_daily(
    path: Path | str,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    interval: str | None = None,
    keep_halts: bool = False,
) -> ParsedCandles:
    """KRX daily OHLCV CSV (code, name, market, date, open, high, low, close, volume,
    change_pct) -> one group per code, plus names and boards (``segments``) of the stocks.

    symbol = the 6-char code as text; a session date opens 00:00 Asia/Seoul (15:00 UTC the day
    before); prices KRW, volume shares. Trading-halt rows (open = high = low = 0, close = the last
    price; or, in ``krx_daily_2006/``, volume 0 with open = high = low = close) are skipped and
    counted unless ``keep_halts``. Rows whose open/close lie up to 1 %
    outside [low, high] are real KRX records and kept (counted in ``kept_quirks``).
    """
    path = Path(path)
    if exchange not in (None, "krx"):
        raise ValueError("krx_daily holds KRX stocks; exchange must be krx")
    _no_symbol("krx_daily", symbol)
    interval = normalize_interval(interval, fmt="krx_daily", fixed="1d")
    df = _read_csv(path, ["code", "name", "market", "date", "open", "high", "low", "close", "volume"])
    out = _Collector(path, halts="keep" if keep_halts else "skip", range_tolerance=KRX_RANGE_TOLERANCE, flat_halts=True)
    infos: dict[str, InstrumentInfo] = {}
    rows = 0
    columns = ["code", "name", "market", "date", "open", "high", "low", "close", "volume"]
    for where, (code, name, board, day, o, h, lo, c, v) in _csv_rows(df, columns):
        rows += 1
        info = infos.get(code)
        if info is None or info.name_ko != name:
            if not _KRX_CODE.match(code):
                raise out.fail(where, f"code {code!r} is not a 6-character KRX code")
            # a renamed company keeps its code: the latest row's name wins
            info = infos[code] = _krx_info(code, name)
        if board:
            out.parsed.segments[code] = board
        open_time = _time(out.source, where, "date", partial(_day_open, day, 0, KST))
        out.add(where, info, interval, open_time, [o, h, lo, c, v])
    return out.result(blank_lines=len(df) - rows)


@dataclass
class StreamSummary:
    """What ``stream_krx_daily`` read, filled in while it runs. ``invalid``: ("line N",
    problem) of each invalid row skipped (``skip_invalid``), file order. ``skipped``/``kept_quirks``
    as in ``ParsedCandles``; ``candles``: bars yielded."""

    source: str
    rows: int = 0
    candles: int = 0
    codes: int = 0
    skipped: Counter = field(default_factory=Counter)
    kept_quirks: Counter = field(default_factory=Counter)
    invalid: list[tuple[str, str]] = field(default_factory=list)


INVALID = "invalid row (--skip-invalid)"
KRX_DAILY_CHUNK_ROWS = 200_000
_KRX_DAILY_COLUMNS = ["code", "name", "market", "date", "open", "high", "low", "close", "volume"]
# day bitmaps of the (code, date) pairs seen, from this day on
_SEEN_EPOCH, _SEEN_DAYS = date(1980, 1, 1).toordinal(), 25_000


def stream_krx_daily(
    path: Path | str,
    *,
    keep_halts: bool = False,
    skip_invalid: bool = False,
    chunk_rows: int = KRX_DAILY_CHUNK_ROWS,
    summary: StreamSummary | None = None,
) -> Iterator[ParsedCandles]:
    """The KRX daily CSV of ``parse_krx_daily`` read in chunks of ``chunk_rows`` lines, for files
    too large to hold as ``Bar`` objects at once (``../shared/data/krx_daily_2006/``: 7.17M rows).

    Yields one ``ParsedCandles`` per chunk (its groups, names and boards); the counts of the
    whole file accumulate in ``summary`` (pass one to read them). Rows are checked vectorized
    and every row the fast check doubts is checked again by the same rules as
    ``parse_krx_daily`` (same messages, same 1 % KRX tolerance), so both accept the same rows.
    Halts (open = high = low = 0 with a close; volume 0 with open = high = low = close) are
    skipped and counted unless ``keep_halts``. An invalid row raises ``ImportFormatError``
    naming file and line, after the chunks before it were yielded (callers roll back); with
    ``skip_invalid`` it is skipped and listed in ``summary.invalid``. A (code, date) repeated in
    another chunk is invalid too ("repeats ..."); an exact duplicate inside one chunk is skipped.
    """
    path = Path(path)
    source = str(path)
    summary = summary if summary is not None else StreamSummary(source=source)
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            chunksize=chunk_rows,
            compression="gzip" if path.suffix == ".gz" else None,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ImportFormatError(f"{path}: {exc}") from exc
    seen: dict[str, bytearray] = {}
    infos: dict[str, InstrumentInfo] = {}
    first = True
    try:
        for df in reader:
            if first:
                missing = [c for c in _KRX_DAILY_COLUMNS if c not in df.columns]
                if missing:
                    raise ImportFormatError(f"{path}, line 1: missing column(s) {', '.join(missing)}")
                first = False
            yield _krx_daily_chunk(df.fillna(""), source, keep_halts, skip_invalid, summary, seen, infos)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path}: {exc}") from exc


def _krx_daily_chunk(
    df: pd.DataFrame,
    source: str,
    keep_halts: bool,
    skip_invalid: bool,
    summary: StreamSummary,
    seen: dict[str, bytearray],
    infos: dict[str, InstrumentInfo],
) -> ParsedCandles:
    lines = df.index.to_numpy() + 2  # header = line 1; blank lines kept as empty rows
    text = {c: df[c].str.strip() for c in _KRX_DAILY_COLUMNS}
    blank = np.ones(len(df), dtype=bool)
    for column in text.values():
        blank &= (column == "").to_numpy()
    number = {c: pd.to_numeric(text[c], errors="coerce").to_numpy(dtype="float64") for c in _OHLCV}
    o, h, lo, c, v = (number[k] for k in _OHLCV)
    days = pd.to_datetime(text["date"], format="%Y-%m-%d", errors="coerce")
    with np.errstate(invalid="ignore"):
        halt_zero = (o == 0) & (h == 0) & (lo == 0) & (c > 0)
        halt_flat = (v == 0) & (o == h) & (h == lo) & (lo == c) & (c > 0)
        regular = (
            (o > 0) & (h > 0) & (lo > 0) & (c > 0) & (h >= lo) & (np.maximum(o, c) <= h) & (np.minimum(o, c) >= lo)
        )
        doubtful = ~(regular | halt_zero | halt_flat) | ~(v >= 0) | np.isnan(number["volume"])
    doubtful |= ~text["code"].str.fullmatch(_KRX_CODE.pattern).to_numpy(dtype=bool)
    ordinal = days.to_numpy(dtype="datetime64[D]").astype("int64") + date(1970, 1, 1).toordinal() - _SEEN_EPOCH
    doubtful |= days.isna().to_numpy() | (ordinal < 0) | (ordinal >= _SEEN_DAYS)
    doubtful &= ~blank
    # rows the fast check doubts get the scalar rules, which raise or count the KRX quirk
    check = _Collector(Path(source), halts="keep", range_tolerance=KRX_RANGE_TOLERANCE)
    bad = np.zeros(len(df), dtype=bool)
    for i in np.flatnonzero(doubtful):
        where = f"line {lines[i]}"
        try:
            if not _KRX_CODE.match(text["code"].iat[i]):
                raise _fail(source, where, f"code {text['code'].iat[i]!r} is not a 6-character KRX code")
            open_time = _time(source, where, "date", partial(_day_open, text["date"].iat[i], 0, KST))
            if not 0 <= ordinal[i] < _SEEN_DAYS:
                raise _fail(source, where, f"date {text['date'].iat[i]} is outside 1980-01-01 .. 2048-06-11")
            info = _krx_info(text["code"].iat[i], text["name"].iat[i])
            check.add(where, info, "1d", open_time, [text[k].iat[i] for k in _OHLCV])
        except ImportFormatError as exc:
            if not skip_invalid:
                raise
            bad[i] = True
            summary.invalid.append((where, str(exc).removeprefix(f"{source}, {where}: ")))
    summary.kept_quirks.update(check.parsed.kept_quirks)
    summary.rows += int((~blank).sum())
    if blank.any():
        summary.skipped[BLANK] += int(blank.sum())
    if bad.any():
        summary.skipped[INVALID] += int(bad.sum())
    halts = halt_zero | halt_flat
    keep = ~blank & ~bad
    if not keep_halts:
        for reason, mask in ((HALT, halt_zero), (HALT_FLAT, halt_flat)):
            if (mask & keep).any():
                summary.skipped[reason] += int((mask & keep).sum())
        keep &= ~halts
    # duplicates: exact ones in this chunk are skipped, any other repeat of (code, date) is invalid
    frame = pd.DataFrame({k: text[k] for k in _KRX_DAILY_COLUMNS})[keep]
    exact = frame.duplicated(keep="first").to_numpy()
    if exact.any():
        summary.skipped[EXACT_DUPLICATE] += int(exact.sum())
        keep[np.flatnonzero(keep)[exact]] = False
    col_date, col_o, col_h, col_l, col_c, col_v = (text[k].tolist() for k in ("date", *_OHLCV))
    out = ParsedCandles(source=source)
    for code, index in pd.Series(np.flatnonzero(keep)).groupby(text["code"].to_numpy()[keep]):
        rows = index.to_numpy()
        bitmap = seen.setdefault(code, bytearray(_SEEN_DAYS))
        repeats = [i for i in rows if bitmap[ordinal[i]]]
        if len(set(ordinal[rows].tolist())) != len(rows):
            first_seen: dict[int, int] = {}
            for i in rows:
                if ordinal[i] in first_seen:
                    repeats.append(i)
                first_seen.setdefault(int(ordinal[i]), i)
        for i in sorted(set(repeats)):
            where = f"line {lines[i]}"
            problem = f"repeats {code} {text['date'].iat[i]} of an earlier line"
            if not skip_invalid:
                raise _fail(source, where, problem)
            summary.invalid.append((where, problem))
            summary.skipped[INVALID] += 1
        if repeats:
            rows = np.array([i for i in rows if i not in set(repeats)], dtype=np.int64)
        name = text["name"].iat[rows[-1]] if len(rows) else ""
        code_info = infos.get(code)
        if code_info is None or code_info.name_ko != name:
            # a renamed company keeps its code: the latest row's name wins
            code_info = infos[code] = _krx_info(code, name)
        board = text["market"].iat[rows[-1]] if len(rows) else ""
        if board:
            out.segments[code] = board
        for i in rows:
            bitmap[ordinal[i]] = 1
        bars = [
            Bar(
                open_time=_day_open(col_date[i], 0, KST),
                open=Decimal(col_o[i]),
                high=Decimal(col_h[i]),
                low=Decimal(col_l[i]),
                close=Decimal(col_c[i]),
                volume=Decimal(col_v[i]),
            )
            for i in rows.tolist()
        ]
        if bars:
            bars.sort(key=lambda bar: bar.open_time)
            out.groups[("krx", code, "1d")] = bars
            out.instruments[("krx", code)] = code_info
    out.rows = int((~blank).sum())
    summary.candles += out.candles
    summary.codes = len(seen)
    return out


def candles_from_bars(bars: Iterable[Bar], *, source: str, exchange: str, symbol: str, interval: str) -> ParsedCandles:
    """Bars from a live source (``MarketSource.ohlcv``) -> ``ParsedCandles``, with the same
    checks as a file (location ``bar[i]``)."""
    symbol = unified_symbol(symbol)
    interval = normalize_interval(interval, fmt=source)
    info = _crypto_info(exchange, symbol)
    out = _Collector(Path(source))
    for index, bar in enumerate(bars):
        out.add(
            f"bar[{index}]",
            info,
            interval,
            bar.open_time,
            [bar.open, bar.high, bar.low, bar.close, bar.volume],
            quote_volume=bar.quote_volume,
        )
    return out.result()


INSTRUMENT_FORMATS: dict[str, Callable[..., ParsedInstruments]] = {
    "bithumb_ticker": parse_bithumb_ticker,
    "upbit_markets": parse_upbit_markets,
    "krx_tickers": parse_krx_tickers,
}

CANDLE_FORMATS: dict[str, Callable[..., ParsedCandles]] = {
    "bithumb_candlestick": parse_bithumb_candlestick,
    "upbit_csv": parse_upbit_csv,
    "bithumb_daily_csv": parse_bithumb_daily_csv,
    "investing_csv": parse_investing_csv,
    "binance_csv": parse_binance_csv,
    "binance_klines": parse_binance_klines,
    "krx_daily": parse_krx_daily,
}


# -- KIS futures/options masters ----------------------------------------------------------------

# 상품종류 (product type) -> (kind, right) for the KOSPI200 products imported; other products of
# the masters (mini, KOSDAQ150, sector futures, spreads, VKOSPI...) are skipped and counted.
KIS_FO_PRODUCTS = {
    "1": ("future", ""),  # KOSPI200 futures, "F 202509"
    "5": ("option", "call"),  # KOSPI200 monthly call, "C 202508 430.0"
    "6": ("option", "put"),
    "L": ("option", "call"),  # KOSPI200 Thursday weekly, "위클리C 2507W3 382.5"
    "M": ("option", "put"),
    "N": ("option", "call"),  # KOSPI200 Monday weekly, "위클리M C 2507W3 387.5"
    "O": ("option", "put"),
}
KOSPI200_MULTIPLIER = Decimal(250_000)  # KRW per index point (futures and options)
KOSPI200_FUTURE_TICK = Decimal("0.05")
KOSPI200_OPTION_TICK = Decimal("0.01")  # 0.01 below 10 points, 0.05 from 10 points: the smallest step
_FO_MONTHLY = re.compile(r"^(?:F|C|P) (\d{4})(\d{2})(?: [0-9.,]+)?$")
_FO_WEEKLY = re.compile(r"^위클리(M )?[CP] (\d{2})(\d{2})W([1-5]) [0-9.,]+$")
_FO_CODE = re.compile(r"^[0-9A-Z]{6}(?:[0-9A-Z]{3})?$")


@lru_cache(maxsize=1)
def _xkrx():
    import exchange_calendars

    return exchange_calendars.get_calendar("XKRX", start="2000-01-01", end="2030-12-31")


def krx_previous_business_day_if_closed(day: date) -> date:
    """``day`` if it is an XKRX session (exchange_calendars), else the session before it.

    Raises ValueError outside the calendar range (2000-2030)."""
    cal = _xkrx()
    when = pd.Timestamp(day)
    if when < cal.first_session or when > cal.last_session:
        raise ValueError(f"{day} is outside the XKRX calendar range")
    return day if cal.is_session(when) else cal.date_to_session(when, direction="previous").date()


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Monday 0 .. Sunday 6) of the month; ValueError if it does not exist."""
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    if day.month != month:
        raise ValueError(f"no weekday {weekday} number {n} in {year}-{month:02d}")
    return day


def kospi200_expiry(name: str) -> date:
    """Last trading day from a master name (한글종목명).

    Monthly futures and options ("F 202509", "C 202508 430.0"): the second Thursday of the
    month. Weeklies by their own code: "위클리C 2507W3 382.5" = the 3rd Thursday of 2025-07,
    "위클리M C 2507W3 387.5" = the 3rd Monday. An XKRX holiday moves the day to the business day
    before (the KRX rule). Raises ValueError on any other name.
    """
    if match := _FO_MONTHLY.match(name):
        year, month = int(match[1]), int(match[2])
        return krx_previous_business_day_if_closed(nth_weekday(year, month, 3, 2))
    if match := _FO_WEEKLY.match(name):
        monday, year, month, week = bool(match[1]), 2000 + int(match[2]), int(match[3]), int(match[4])
        return krx_previous_business_day_if_closed(nth_weekday(year, month, 0 if monday else 3, week))
    raise ValueError(f"name {name!r} is neither 'F|C|P YYYYMM [strike]' nor a weekly '위클리[M ]C|P YYMMWn strike'")


def parse_kis_fo_master(path: Path | str, *, exchange: str | None = None) -> ParsedInstruments:
    """A KIS futures/options master CSV (``fo_idx_code_mts.csv``, ``fo_eurex_code.csv``,
    ``fo_cme_code.csv``: 상품종류, 단축코드, 표준코드, 한글종목명, [ATM구분], 행사가, ...,
    기초자산 명) -> KOSPI200 futures and options (``KIS_FO_PRODUCTS``), market ``krx_derivatives``.

    symbol = 단축코드 ("101W09", "201W08450"), base = underlying = "KOSPI200",
    quote KRW, name_ko = name_en = 한글종목명 (searchable: "F 202509", "C 202508 450.0"), expiry by
    ``kospi200_expiry``, strike = 행사가 for options (the CME master puts a sequence number in that
    column for futures: ignored), multiplier 250,000 KRW per point, tick 0.05 futures / 0.01 options,
    lot 1 contract. Other products and underlyings are skipped and counted; a malformed row of an
    imported product raises ImportFormatError naming the line.
    """
    path = Path(path)
    if exchange not in (None, "krx"):
        raise ValueError("kis_fo_master lists KRX derivatives; exchange must be krx")
    df = _read_csv(path, ["상품종류", "단축코드", "한글종목명", "행사가", "기초자산 명"])
    out = ParsedInstruments(source=str(path))
    rows = list(_csv_rows(df, ["상품종류", "단축코드", "한글종목명", "행사가", "기초자산 명"]))
    if len(df) > len(rows):
        out.skipped[BLANK] = len(df) - len(rows)
    seen: dict[str, str] = {}
    for where, (product, code, name, strike_text, underlying) in rows:
        out.rows += 1
        if product not in KIS_FO_PRODUCTS or underlying != "KOSPI200":
            out.skipped["not a KOSPI200 future or option (mini, KOSDAQ150, sector, spread, VKOSPI...)"] += 1
            continue
        kind, right = KIS_FO_PRODUCTS[product]
        if not _FO_CODE.match(code) or len(code) != (6 if kind == "future" else 9):
            raise _fail(str(path), where, f"단축코드 {code!r} is not a KRX {kind} short code")
        if code in seen:
            raise _fail(str(path), where, f"단축코드 {code} already listed on {seen[code]}")
        seen[code] = where
        try:
            expiry = kospi200_expiry(name)
        except ValueError as exc:
            raise _fail(str(path), where, str(exc)) from exc
        strike = None
        if kind == "option":
            strike = _decimal(str(path), where, "행사가", strike_text)
            if strike <= 0:
                raise _fail(str(path), where, f"행사가 {strike_text!r} must be positive")
        out.instruments.append(
            InstrumentInfo(
                exchange="krx",
                symbol=code,
                base="KOSPI200",
                quote="KRW",
                market="krx_derivatives",
                name_ko=name,
                name_en=name,
                lot_size=Decimal(1),
                tick_size=KOSPI200_FUTURE_TICK if kind == "future" else KOSPI200_OPTION_TICK,
                kind=kind,
                underlying="KOSPI200",
                expiry=expiry,
                strike=strike,
                right=right,
                multiplier=KOSPI200_MULTIPLIER,
            )
        )
    return out


INSTRUMENT_FORMATS["kis_fo_master"] = parse_kis_fo_master
