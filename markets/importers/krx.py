"""KRX files: the listed tickers with market caps and shares, the daily OHLCV CSVs, and the
streaming import of the 2006-2021 daily file (millions of rows, read in chunks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from markets.importers.base import (
    _KRX_CODE,
    _OHLCV,
    BLANK,
    EXACT_DUPLICATE,
    HALT,
    HALT_FLAT,
    KRX_RANGE_TOLERANCE,
    KST,
    ImportFormatError,
    ParsedCandles,
    ParsedInstruments,
    _Collector,
    _csv_rows,
    _day_open,
    _fail,
    _krx_info,
    _no_symbol,
    _read_csv,
    _time,
    normalize_interval,
)
from markets.sources.base import Bar, InstrumentInfo


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
