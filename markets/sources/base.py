"""Source-neutral market-data records and the ``MarketSource`` interface.

Every source (a live exchange through ccxt, a replay of recorded files) speaks these types, so
the rest of the project never sees ccxt dicts or file rows. Conventions shared by all sources:

* numbers are ``Decimal``: built from the source's text where the source gives text, else as
  ``Decimal(str(x))`` from a library float (never ``Decimal(float)``, which drags in binary noise);
* datetimes are timezone-aware UTC;
* symbols are ccxt unified symbols ("BTC/KRW", "BTC/USDT:USDT"); KRX stocks use the 6-char code.

This module must stay free of Django imports: it is used by plain scripts and by tests without a
database.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

INTERVALS: tuple[str, ...] = ("1m", "5m", "10m", "15m", "30m", "1h", "4h", "1d")
"""Candle intervals the project uses; ``MarketSource.ohlcv`` rejects anything else."""

INTERVAL_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "10m": 600,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}


@dataclass(frozen=True)
class InstrumentInfo:
    """One tradable instrument as a source lists it.

    ``market`` is "crypto" or "krx". ``tick_size`` (price step, quote currency), ``lot_size``
    (amount step, base units) and ``min_notional`` (minimum order value, quote currency) are
    ``None`` when the source does not state them.
    """

    exchange: str  # "bithumb", "upbit", "binanceusdm", "bybit", "bitmex", "krx"
    symbol: str  # ccxt unified symbol; KRX: the 6-char code "005930"
    base: str
    quote: str
    market: str  # "crypto" or "krx"
    name_ko: str = ""
    name_en: str = ""
    tick_size: Decimal | None = None
    lot_size: Decimal | None = None
    min_notional: Decimal | None = None
    active: bool = True
    # derivatives only (market "krx_derivatives"): kind "future" | "option", expiry a date,
    # strike in index points, right "call" | "put", multiplier KRW per index point
    kind: str = "spot"
    underlying: str = ""
    expiry: date | None = None
    strike: Decimal | None = None
    right: str = ""
    multiplier: Decimal | None = None
    # KRX stocks: market cap (KRW) and listed shares on market_cap_date
    market_cap: Decimal | None = None
    listed_shares: int | None = None
    market_cap_date: date | None = None


@dataclass(frozen=True)
class Bar:
    """One OHLCV candle. ``open_time`` is the candle OPEN time (tz-aware UTC).

    ``volume`` is in base units (coins, shares); ``quote_volume`` is the traded value in quote
    currency when the source reports it, else ``None``.
    """

    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal | None = None


@dataclass(frozen=True)
class TickerSnapshot:
    """Latest state of one instrument.

    ``change`` = last - reference price (24 h open or previous close, as the source defines it),
    in quote currency; ``change_rate`` = change / reference as a FRACTION (0.0125 = +1.25 %).
    ``volume_24h`` is in base units, ``traded_value_24h`` in quote currency; each is ``None``
    when the source lacks it. ``time`` is the exchange's (or the recording's) timestamp, UTC.
    """

    exchange: str
    symbol: str
    last_price: Decimal
    change: Decimal | None
    change_rate: Decimal | None
    volume_24h: Decimal | None
    traded_value_24h: Decimal | None
    time: datetime


class SourceError(Exception):
    """A non-network failure reported by a source (bad symbol, exchange error reply, ...).

    Network trouble is retried inside the sources and, when retries run out, surfaces as the
    library's own network exception; everything else is wrapped in this, naming the exchange.
    """

    def __init__(self, message: str, *, exchange: str = "") -> None:
        self.exchange = exchange
        super().__init__(f"{exchange}: {message}" if exchange else message)


def check_interval(interval: str) -> None:
    """Raise ``ValueError`` unless ``interval`` is one of ``INTERVALS``."""
    if interval not in INTERVALS:
        raise ValueError(f"unsupported interval {interval!r}; expected one of {', '.join(INTERVALS)}")


def to_decimal(value) -> Decimal | None:
    """``None`` -> ``None``; str/int/float/Decimal -> ``Decimal`` via ``str`` (exact for text)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def ms_to_utc(ms: int | float) -> datetime:
    """Epoch milliseconds -> tz-aware UTC datetime."""
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def utc_to_ms(when: datetime) -> int:
    """Tz-aware datetime -> epoch milliseconds. Naive datetimes are refused: they are ambiguous."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: pass a timezone-aware datetime (UTC)")
    return int(when.timestamp() * 1000)


class MarketSource(ABC):
    """Read-only market data: instruments, candles, ticker snapshots and a ticker stream."""

    name: str

    @abstractmethod
    def instruments(self) -> list[InstrumentInfo]:
        """All instruments the source lists."""

    @abstractmethod
    def ohlcv(
        self,
        symbol: str,
        interval: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[Bar]:
        """Candles of ``symbol`` in ascending ``open_time``, unique per ``open_time``.

        ``since``/``until`` bound ``open_time`` inclusively; ``limit`` caps the number of bars.
        ``interval`` must be one of ``INTERVALS`` (``ValueError`` otherwise).
        """

    @abstractmethod
    def tickers(self, symbols: list[str] | None = None) -> list[TickerSnapshot]:
        """One snapshot per instrument (all, or only ``symbols``)."""

    @abstractmethod
    def stream_tickers(self, symbols: list[str] | None = None) -> AsyncIterator[list[TickerSnapshot]]:
        """Async generator of ticker batches; runs until cancelled (or a finite replay ends)."""
