"""Parsers for recorded market-data files: instrument lists and OHLCV candles, one module per
source, and the two registries the import commands offer as ``--format``.

Pure parsing, no Django: every ``parse_<format>`` reads one file and returns source-neutral
records (``markets.sources.base``), validated row by row. Storing them is the job of
``markets.services`` (``instrument_upsert_many``, ``candles_import``). The conventions every
parser keeps (Decimal from the file text, UTC candle open times, ``ImportFormatError`` naming file
and line) are in ``markets/importers/base.py``.

* ``INSTRUMENT_FORMATS``: ``import_instruments --format <key>`` -> ``parse(path, exchange=...)``
  returning ``ParsedInstruments``.
* ``CANDLE_FORMATS``: ``import_candles --format <key>`` -> ``parse(path, exchange=..., symbol=...,
  interval=...)`` returning ``ParsedCandles``; ``krx_daily`` also streams (``stream_krx_daily``).

Adding a format: a module here (or a function in the source's module), a line in a registry
below, tests on a slice of the real file (CONTRIBUTING.md, "Adding a file format").
"""

from __future__ import annotations

from collections.abc import Callable

from markets.importers.base import (
    BLANK,
    EXACT_DUPLICATE,
    HALT,
    HALT_FLAT,
    IN_PROGRESS_OFF_GRID,
    KST,
    OUTSIDE_RANGE,
    ImportFormatError,
    ParsedCandles,
    ParsedInstruments,
    candles_from_bars,
    normalize_interval,
    split_symbol,
    unified_symbol,
)
from markets.importers.binance import parse_binance_csv, parse_binance_klines
from markets.importers.bithumb import parse_bithumb_candlestick, parse_bithumb_daily_csv, parse_bithumb_ticker
from markets.importers.investing import parse_investing_csv
from markets.importers.kis import (
    KIS_FO_PRODUCTS,
    kospi200_expiry,
    krx_previous_business_day_if_closed,
    nth_weekday,
    parse_kis_fo_master,
)
from markets.importers.krx import (
    INVALID,
    KRX_DAILY_CHUNK_ROWS,
    StreamSummary,
    parse_krx_daily,
    parse_krx_tickers,
    stream_krx_daily,
)
from markets.importers.upbit import parse_upbit_csv, parse_upbit_markets

INSTRUMENT_FORMATS: dict[str, Callable[..., ParsedInstruments]] = {
    "bithumb_ticker": parse_bithumb_ticker,
    "upbit_markets": parse_upbit_markets,
    "krx_tickers": parse_krx_tickers,
    "kis_fo_master": parse_kis_fo_master,
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

__all__ = [
    "BLANK",
    "CANDLE_FORMATS",
    "EXACT_DUPLICATE",
    "HALT",
    "HALT_FLAT",
    "INSTRUMENT_FORMATS",
    "INVALID",
    "IN_PROGRESS_OFF_GRID",
    "KIS_FO_PRODUCTS",
    "KRX_DAILY_CHUNK_ROWS",
    "KST",
    "OUTSIDE_RANGE",
    "ImportFormatError",
    "ParsedCandles",
    "ParsedInstruments",
    "StreamSummary",
    "candles_from_bars",
    "kospi200_expiry",
    "krx_previous_business_day_if_closed",
    "normalize_interval",
    "nth_weekday",
    "parse_binance_csv",
    "parse_binance_klines",
    "parse_bithumb_candlestick",
    "parse_bithumb_daily_csv",
    "parse_bithumb_ticker",
    "parse_investing_csv",
    "parse_kis_fo_master",
    "parse_krx_daily",
    "parse_krx_tickers",
    "parse_upbit_csv",
    "parse_upbit_markets",
    "split_symbol",
    "stream_krx_daily",
    "unified_symbol",
]
