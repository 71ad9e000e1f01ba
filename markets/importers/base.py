"""The importers' shared parts: the parsed results, the row checks and the collector every
parser feeds (``_Collector``), the errors, the time and number readers.

Conventions every parser of the package keeps:

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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

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


def _volume_column(path: Path, df: pd.DataFrame) -> str:
    """The base-volume column: ``volume_base`` or the single ``volume_<coin>`` (e.g. volume_btc)."""
    if "volume_base" in df.columns:
        return "volume_base"
    found = [c for c in df.columns if re.fullmatch(r"volume_[a-z0-9]+", c)]
    if len(found) != 1:
        raise ImportFormatError(f"{path}, line 1: expected one volume column (volume_base or volume_<coin>)")
    return found[0]


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
