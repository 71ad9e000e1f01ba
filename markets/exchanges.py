"""The venue registry: one ``Venue`` record per exchange tradesite knows, and everything that
differs between venues derived from it.

Pure (no Django import), so ``tradesite/settings.py`` can build its defaults from it. What derives
from ``VENUES``:

* ``markets.models.Exchange`` (the choices stored in ``Instrument.exchange`` and the ETL tables);
* ``TRADING["FEE_BPS"]`` and ``TRADING["BOT_DAY_BOUNDARY"]`` defaults (``tradesite/settings.py``);
* the tick table a venue's prices follow (``trading.rules.tick_size``);
* the live sources: ccxt REST polling (``markets.sources.CCXT_EXCHANGES``, ``stream_tickers
  --source <id>``), exchange WebSockets (``stream_tickers --source ws --exchange <id>``), the quote
  a stream subscribes by default (``markets.selectors.STREAM_QUOTES``), the hosts whose circuit
  breakers ``/api/v1/status/`` lists (``markets.selectors.KNOWN_HOSTS``);
* the venue labels the pages show (``venue_labels()``).

Adding a venue is one record here plus its data code (a ccxt id needs nothing more; a WebSocket
protocol lives in ``markets/sources/ws_protocols.py``; taker-volume pairs in ``etl/pairs.py``);
see CONTRIBUTING.md, "Adding an exchange".
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

CRYPTO = "crypto"
KRX = "krx"


@dataclass(frozen=True)
class Venue:
    """One exchange.

    ``id``: the stored value (``Instrument.exchange``), also the ccxt id where ccxt has the venue.
    ``label``: the name shown on pages and in the admin. ``market``: ``crypto`` or ``krx``.
    ``fee_bps``: the commission paper trades pay, basis points of the traded value (a retail
    taker's default; overridable in ``TRADING["FEE_BPS"]``). ``day_boundary``: where the venue's
    daily candles open, ``"HH:MM"`` Asia/Seoul (``None`` for KRX, whose days are sessions).
    ``tick_table``: the price-band table in ``trading.rules`` (``"krx"``, ``"upbit_krw"``) or
    ``None`` (the instrument's own tick or any price). ``ccxt_rest``: polled through ccxt
    ``fetch_tickers``; ``websocket``: a WebSocket protocol exists in ``ws_protocols``;
    ``stream_quote``: the quote a live stream subscribes when no symbols are given;
    ``breaker_host``: the periodic jobs call this host (one circuit breaker, listed on the status
    endpoint even before a failure).
    """

    id: str
    label: str
    market: str
    fee_bps: Decimal
    day_boundary: str | None = None
    tick_table: str | None = None
    ccxt_rest: bool = False
    websocket: bool = False
    stream_quote: str | None = None
    breaker_host: bool = False


# The order is the choices' order (append new venues at the end: no migration then).
VENUES: tuple[Venue, ...] = (
    # Bithumb: 4..25 bps by coupon; its daily candles open at 00:00 KST
    Venue(
        "bithumb",
        "Bithumb",
        CRYPTO,
        Decimal("25"),
        day_boundary="00:00",
        ccxt_rest=True,
        websocket=True,
        stream_quote="KRW",
        breaker_host=True,
    ),
    # Upbit KRW market: 5 bps; daily candles open at 09:00 KST (00:00 UTC); its own KRW tick table
    Venue(
        "upbit",
        "Upbit",
        CRYPTO,
        Decimal("5"),
        day_boundary="09:00",
        tick_table="upbit_krw",
        ccxt_rest=True,
        websocket=True,
        stream_quote="KRW",
        breaker_host=True,
    ),
    Venue("binance", "Binance spot", CRYPTO, Decimal("10"), day_boundary="09:00"),
    Venue(
        "binanceusdm",
        "Binance USD-M",
        CRYPTO,
        Decimal("5"),
        day_boundary="09:00",
        ccxt_rest=True,
        websocket=True,
        stream_quote="USDT",
        breaker_host=True,
    ),
    Venue(
        "bybit",
        "Bybit",
        CRYPTO,
        Decimal("5.5"),
        day_boundary="09:00",
        ccxt_rest=True,
        websocket=True,
        stream_quote="USDT",
        breaker_host=True,
    ),
    Venue("bitmex", "BitMEX", CRYPTO, Decimal("7.5"), day_boundary="09:00", stream_quote="USD", breaker_host=True),
    # KRX: a typical online broker's 1.5 bps; the sell tax is TRADING["KRX_SELL_TAX_BPS"]
    Venue("krx", "KRX", KRX, Decimal("1.5"), tick_table="krx"),
)

BY_ID: dict[str, Venue] = {venue.id: venue for venue in VENUES}


def venue(venue_id: str) -> Venue | None:
    """The record of ``venue_id`` (``"upbit"``), ``None`` for an unknown id."""
    return BY_ID.get(venue_id)


def choices() -> list[tuple[str, str]]:
    """``[(id, label)]`` in registry order: the ``Exchange`` choices."""
    return [(v.id, v.label) for v in VENUES]


def venue_labels() -> dict[str, str]:
    """``{id: label}`` for the pages."""
    return {v.id: v.label for v in VENUES}


def fee_bps_defaults() -> dict[str, Decimal]:
    """``{id: fee in basis points}``: the default ``TRADING["FEE_BPS"]``."""
    return {v.id: v.fee_bps for v in VENUES}


def day_boundary_defaults() -> dict[str, str]:
    """``{"default": "00:00", id: "HH:MM"}`` for the crypto venues: the default
    ``TRADING["BOT_DAY_BOUNDARY"]`` (Asia/Seoul)."""
    table = {"default": "00:00"}
    table.update({v.id: v.day_boundary for v in VENUES if v.day_boundary is not None})
    return table


def ccxt_rest_ids() -> tuple[str, ...]:
    """Venues polled through ccxt REST (``stream_tickers --source <id>``)."""
    return tuple(v.id for v in VENUES if v.ccxt_rest)


def websocket_ids() -> tuple[str, ...]:
    """Venues with a WebSocket protocol (``stream_tickers --source ws --exchange <id>``)."""
    return tuple(v.id for v in VENUES if v.websocket)


def stream_quotes() -> dict[str, str]:
    """``{id: quote}``: the quote a venue's live stream subscribes by default."""
    return {v.id: v.stream_quote for v in VENUES if v.stream_quote}


def breaker_hosts() -> tuple[str, ...]:
    """The hosts the periodic jobs call (one circuit breaker each)."""
    return tuple(v.id for v in VENUES if v.breaker_host)
