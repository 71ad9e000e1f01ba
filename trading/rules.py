"""Exchange rules as plain functions: tick sizes, lot sizes, fill prices, fees, taxes, sessions.

No Django imports, so the arithmetic can be tested alone. Prices and amounts are ``Decimal``.

Sources of the tables:
- KRX tick sizes (호가가격단위), unified for KOSPI and KOSDAQ since 2023-01-25: below 2,000 KRW
  1; 5,000: 5; 20,000: 10; 50,000: 50; 200,000: 100; 500,000: 500; above: 1,000.
- Upbit KRW market tick sizes (원화 마켓 주문 가격 단위), as published by Upbit's support page.
- KRX regular session 09:00-15:30 Asia/Seoul on trading days from exchange-calendars (XKRX).
"""

from datetime import datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from zoneinfo import ZoneInfo

from markets import exchanges
from markets.calendars import SEOUL, krx_is_open, krx_session_close  # noqa: F401  (re-exported)

BPS = Decimal("0.0001")
COIN_LOT = Decimal("0.00000001")
SHARE_LOT = Decimal("1")

# (upper bound exclusive, tick); the last band has no upper bound
KRX_TICKS = [
    (Decimal(2_000), Decimal(1)),
    (Decimal(5_000), Decimal(5)),
    (Decimal(20_000), Decimal(10)),
    (Decimal(50_000), Decimal(50)),
    (Decimal(200_000), Decimal(100)),
    (Decimal(500_000), Decimal(500)),
    (None, Decimal(1_000)),
]
UPBIT_KRW_TICKS = [
    (Decimal("0.0001"), Decimal("0.00000001")),
    (Decimal("0.001"), Decimal("0.0000001")),
    (Decimal("0.01"), Decimal("0.000001")),
    (Decimal("0.1"), Decimal("0.00001")),
    (Decimal("1"), Decimal("0.0001")),
    (Decimal("10"), Decimal("0.001")),
    (Decimal("100"), Decimal("0.01")),
    (Decimal("1000"), Decimal("0.1")),
    (Decimal("10000"), Decimal("1")),
    (Decimal("100000"), Decimal("10")),
    (Decimal("500000"), Decimal("50")),
    (Decimal("1000000"), Decimal("100")),
    (Decimal("2000000"), Decimal("500")),
    (None, Decimal("1000")),
]


def _band(table, price: Decimal) -> Decimal:
    for upper, tick in table:
        if upper is None or price < upper:
            return tick
    raise AssertionError("unreachable: the last band is open")


def tick_size(*, exchange: str, quote: str, price: Decimal, instrument_tick: Decimal | None = None) -> Decimal | None:
    """The price step at ``price``: the instrument's own tick when stored, else the exchange's
    price-band table (KRX; Upbit KRW). ``None`` when the step is unknown (any price accepted)."""
    if instrument_tick:
        return instrument_tick
    table = getattr(exchanges.venue(exchange), "tick_table", None)
    if table == "krx":
        return _band(KRX_TICKS, price)
    if table == "upbit_krw" and quote == "KRW":
        return _band(UPBIT_KRW_TICKS, price)
    return None


def is_multiple(value: Decimal, step: Decimal | None) -> bool:
    """True when ``value`` is a whole number of ``step``s (always, without a step). Computed with
    enough precision for any 36-digit quantity: the default 28 digits would raise on 1e20 / 1e-8."""
    if step is None:
        return True
    with localcontext() as ctx:
        ctx.prec = 80
        return (value % step) == 0


def round_to_tick(price: Decimal, tick: Decimal | None, *, up: bool) -> Decimal:
    if tick is None:
        return price
    steps = (price / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return steps * tick


def lot_size(*, market: str, instrument_lot: Decimal | None = None) -> Decimal:
    """Quantity step: the instrument's own when stored, else 1 share (KRX) or 1e-8 coin."""
    if instrument_lot:
        return instrument_lot
    return SHARE_LOT if market == "krx" else COIN_LOT


def market_fill_price(*, last: Decimal, side: str, slippage_bps: Decimal, tick: Decimal | None) -> Decimal:
    """The price a market order fills at: the last price moved against the taker by
    ``slippage_bps`` and rounded to the tick against the taker (up for buys, down for sells)."""
    slip = Decimal(slippage_bps) * BPS
    if side == "buy":
        return round_to_tick(last * (1 + slip), tick, up=True)
    price = round_to_tick(last * (1 - slip), tick, up=False)
    return price if price > 0 else last


def bps_of(amount: Decimal, bps: Decimal) -> Decimal:
    """``amount`` x ``bps`` basis points, unrounded."""
    return amount * Decimal(bps) * BPS


# --- sessions -----------------------------------------------------------------------------


# krx_is_open, krx_session_close: from markets.calendars (the one XKRX calendar), re-exported here.


def crypto_day_end(at: datetime, *, boundary: time = time(0, 0), tz: ZoneInfo = SEOUL) -> datetime:
    """The next crypto day boundary after ``at`` (default 00:00 Asia/Seoul, Bithumb's 24 h
    candle), as an aware datetime."""
    local = at.astimezone(tz)
    end = datetime.combine(local.date(), boundary, tzinfo=tz)
    if end <= local:
        end += timedelta(days=1)
    return end
