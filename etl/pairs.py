"""The trading pairs the taker-volume ETL knows, with the units their trades come in.

A pair is one instrument on one exchange, named by the exchange's own symbol (``BTCUSDT`` on
Binance USD-M and Bybit, ``XBTUSD`` on BitMEX, ``BTC_KRW`` on Bithumb). ``exchange`` is a
``markets.models.Exchange`` value; the API speaks shorter names (``binance`` for Binance USD-M),
mapped by ``API_EXCHANGES``.

Units (``kind``):

* ``LINEAR``: a trade's amount is in the base asset (BTC); value = price x amount, in the quote
  currency (USDT, KRW).
* ``INVERSE``: a trade's amount is a number of contracts each worth ``contract_size`` of the quote
  currency (USD); value = contracts x contract_size, base volume = contracts x contract_size / price.

No Django imports: the transform and the benchmark use this module alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LINEAR = "linear"
INVERSE = "inverse"
PERPETUAL = "perpetual"
SPOT = "spot"
ALL_EXCHANGE = "all_exchange"


class UnknownPair(ValueError):
    """No pair matches the exchange and symbol given; ``field`` names the culprit parameter."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Pair:
    exchange: str  # markets.models.Exchange value: binanceusdm, bybit, bitmex, bithumb
    symbol: str  # the exchange's own symbol
    base: str
    quote: str
    kind: str  # LINEAR or INVERSE
    market: str  # PERPETUAL or SPOT
    contract_size: Decimal | None = None  # quote currency per contract (INVERSE only)
    ccxt_symbol: str = ""
    # Trade ids count up by exactly one per trade (Binance): a jump in ids proves a gap and
    # consecutive ids prove that nothing is missing between two files or pages.
    sequential_ids: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.symbol)

    @property
    def api_exchange(self) -> str:
        return API_NAME[self.exchange]

    @property
    def label(self) -> str:
        return f"{self.api_exchange}:{self.symbol}"

    @property
    def usd_perpetual(self) -> bool:
        """Counted by ``all_exchange``: a perpetual quoted in USD or USDT (USDT taken at par)."""
        return self.market == PERPETUAL and self.quote in ("USD", "USDT")


PAIRS: tuple[Pair, ...] = (
    Pair(
        "binanceusdm",
        "BTCUSDT",
        "BTC",
        "USDT",
        LINEAR,
        PERPETUAL,
        ccxt_symbol="BTC/USDT:USDT",
        sequential_ids=True,
        aliases=("BTC", "BTC/USDT:USDT"),
    ),
    Pair(
        "bybit",
        "BTCUSDT",
        "BTC",
        "USDT",
        LINEAR,
        PERPETUAL,
        ccxt_symbol="BTC/USDT:USDT",
        aliases=("BTC", "BTC/USDT:USDT"),
    ),
    Pair(
        "bybit",
        "BTCUSD",
        "BTC",
        "USD",
        INVERSE,
        PERPETUAL,
        contract_size=Decimal(1),
        ccxt_symbol="BTC/USD:BTC",
        aliases=("BTC/USD:BTC",),
    ),
    Pair(
        "bitmex",
        "XBTUSD",
        "BTC",
        "USD",
        INVERSE,
        PERPETUAL,
        contract_size=Decimal(1),
        ccxt_symbol="BTC/USD:BTC",
        aliases=("BTC", "BTCUSD", "BTC/USD:BTC"),
    ),
    Pair(
        "bithumb",
        "BTC_KRW",
        "BTC",
        "KRW",
        LINEAR,
        SPOT,
        ccxt_symbol="BTC/KRW",
        aliases=("BTC", "BTCKRW", "BTC/KRW", "KRW-BTC"),
    ),
)

# API name -> stored exchange (markets.models.Exchange value)
API_EXCHANGES: dict[str, str] = {"binance": "binanceusdm", "bybit": "bybit", "bitmex": "bitmex", "bithumb": "bithumb"}
API_NAME: dict[str, str] = {stored: api for api, stored in API_EXCHANGES.items()}
# the symbol an exchange means when none is given
DEFAULT_SYMBOL: dict[str, str] = {
    "binanceusdm": "BTCUSDT",
    "bybit": "BTCUSDT",
    "bitmex": "XBTUSD",
    "bithumb": "BTC_KRW",
}


def exchange_from_name(name: str) -> str:
    """``binance`` or ``binanceusdm`` -> ``binanceusdm``; raises ``UnknownPair`` otherwise."""
    key = (name or "").strip().lower()
    if key in API_EXCHANGES:
        return API_EXCHANGES[key]
    if key in API_NAME:
        return key
    raise UnknownPair(
        f"unknown exchange {name!r}; expected one of {', '.join([*API_EXCHANGES, ALL_EXCHANGE])}", field="exchange"
    )


def get_pair(exchange: str, symbol: str | None = None) -> Pair:
    """The pair of ``exchange`` (API or stored name) called ``symbol`` (its own symbol or an
    alias, case-insensitive; the exchange's BTC pair when empty). Raises ``UnknownPair``."""
    stored = exchange_from_name(exchange)
    wanted = (symbol or DEFAULT_SYMBOL[stored]).strip().upper()
    candidates = [p for p in PAIRS if p.exchange == stored]
    for pair in candidates:
        if wanted == pair.symbol.upper():
            return pair
    for pair in candidates:
        if wanted in (a.upper() for a in pair.aliases):
            return pair
    known = ", ".join(p.symbol for p in candidates)
    raise UnknownPair(f"{API_NAME[stored]} has no symbol {symbol!r}; known: {known}", field="symbol")


def usd_perpetuals(symbol: str | None = None) -> list[Pair]:
    """The pairs ``all_exchange`` sums: USD/USDT perpetuals of the base asset ``symbol`` names
    (``BTC``, ``BTCUSDT``, ``BTCUSD``, ``XBTUSD``; BTC when empty). Raises ``UnknownPair``."""
    wanted = (symbol or "BTC").strip().upper()
    bases = {p.base for p in PAIRS if wanted in {p.base, p.symbol.upper(), *(a.upper() for a in p.aliases)}}
    members = [p for p in PAIRS if p.base in bases and p.usd_perpetual]
    if not members:
        raise UnknownPair(f"all_exchange has no symbol {symbol!r}; known: BTC, BTCUSDT, BTCUSD, XBTUSD", field="symbol")
    return members
