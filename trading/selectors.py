"""Trading reads: a user's own orders, fills, positions, wallets and the marked portfolio."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet, Sum
from django.utils import timezone

from markets.calendars import SEOUL
from markets.models import Candle
from trading import holding
from trading.models import CashEntry, Fill, Lot, Order, Position, Wallet

LOT_CLOSES_SHOWN = 5


def order_list(*, user) -> QuerySet[Order]:
    return Order.objects.filter(user=user).select_related("instrument")


def fill_list(*, user) -> QuerySet[Fill]:
    return Fill.objects.filter(order__user=user).select_related("order", "order__instrument")


def position_list(*, user, open_only: bool = True) -> QuerySet[Position]:
    qs = Position.objects.filter(user=user).select_related("instrument", "instrument__ticker")
    return qs.filter(quantity__gt=0) if open_only else qs


def wallet_list(*, user) -> QuerySet[Wallet]:
    return Wallet.objects.filter(user=user).order_by("currency")


@dataclass
class PositionValue:
    position: Position
    last_price: Decimal | None
    price_time: object
    market_value: Decimal | None
    unrealized_pnl: Decimal | None
    unrealized_return: Decimal | None  # fraction of the cost basis


@dataclass
class CurrencyTotals:
    currency: str
    cash: Decimal
    reserved: Decimal
    positions_value: Decimal
    equity: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    contributions: Decimal  # starting cash and rewards paid in since the last reset
    return_on_contributions: Decimal | None  # (equity - contributions) / contributions


def _mark(position: Position) -> PositionValue:
    ticker = getattr(position.instrument, "ticker", None)
    if ticker is None:
        return PositionValue(position, None, None, None, None, None)
    value = ticker.last_price * position.quantity
    cost = position.average_entry_price * position.quantity
    pnl = value - cost
    return PositionValue(position, ticker.last_price, ticker.time, value, pnl, (pnl / cost) if cost else None)


def portfolio(*, user) -> tuple[list[PositionValue], list[CurrencyTotals]]:
    """Each open position marked at its latest ticker, and totals per quote currency.

    A position without a ticker has no market value and counts at its cost basis in equity.
    ``contributions`` are the starting cash and the rewards paid in since the last reset, so a
    quiz reward is not mistaken for a trading return.
    """
    marked = [_mark(p) for p in position_list(user=user)]
    totals = []
    for wallet in wallet_list(user=user):
        mine = [m for m in marked if m.position.instrument.quote == wallet.currency]
        positions_value = sum(
            (
                m.market_value if m.market_value is not None else m.position.average_entry_price * m.position.quantity
                for m in mine
            ),
            Decimal(0),
        )
        contributions = _contributions(wallet)
        equity = wallet.cash + positions_value
        realized = Position.objects.filter(user=user, instrument__quote=wallet.currency).aggregate(
            total=Sum("realized_pnl")
        )["total"]
        totals.append(
            CurrencyTotals(
                currency=wallet.currency,
                cash=wallet.cash,
                reserved=wallet.reserved,
                positions_value=positions_value,
                equity=equity,
                unrealized_pnl=sum((m.unrealized_pnl for m in mine if m.unrealized_pnl is not None), Decimal(0)),
                realized_pnl=realized or Decimal(0),
                contributions=contributions,
                return_on_contributions=((equity - contributions) / contributions) if contributions else None,
            )
        )
    return marked, totals


def _contributions(wallet: Wallet) -> Decimal:
    """Money paid into a wallet since its last reset: deposits and quiz rewards (a reset puts
    the starting cash back, which counts as paid in)."""
    entries = CashEntry.objects.filter(wallet=wallet, kind__in=[CashEntry.Kind.DEPOSIT, CashEntry.Kind.QUIZ_REWARD])
    if wallet.reset_at is None:
        return entries.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    since = entries.filter(created_at__gte=wallet.reset_at).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return Decimal(settings.TRADING["STARTING_CASH"].get(wallet.currency, 0)) + since


def ledger_mismatches() -> list[str]:
    """Every way the books disagree with themselves, as readable lines (empty when all agree):

    - a wallet's cash differs from the sum of its ledger entries;
    - a wallet's reserved cash differs from what its open buy orders hold;
    - a position's quantity differs from its fills since the user's last reset (buys - sells);
    - a position's reserved quantity differs from its open sell orders' unfilled quantity.
    """
    problems = []
    sums = dict(CashEntry.objects.values("wallet").annotate(total=Sum("amount")).values_list("wallet", "total"))
    held = {
        (user_id, quote): total
        for user_id, quote, total in Order.objects.filter(status__in=Order.OPEN_STATUSES, side=Order.Side.BUY)
        .values("user", "instrument__quote")
        .annotate(total=Sum("reserved_cash"))
        .values_list("user", "instrument__quote", "total")
    }
    reset_at: dict[int, datetime] = {}
    for wallet in Wallet.objects.select_related("user"):
        if wallet.cash != (sums.get(wallet.pk) or Decimal(0)):
            problems.append(
                f"wallet {wallet.pk} ({wallet.user}, {wallet.currency}): cash {wallet.cash} != ledger sum {sums.get(wallet.pk) or 0}"
            )
        if wallet.reserved != (held.get((wallet.user_id, wallet.currency)) or Decimal(0)):
            problems.append(
                f"wallet {wallet.pk} ({wallet.user}, {wallet.currency}): reserved {wallet.reserved} != open buy orders {held.get((wallet.user_id, wallet.currency)) or 0}"
            )
        latest = reset_at.get(wallet.user_id)
        if wallet.reset_at and (latest is None or wallet.reset_at > latest):
            reset_at[wallet.user_id] = wallet.reset_at
    for position in Position.objects.select_related("user", "instrument"):
        fills = Fill.objects.filter(order__user_id=position.user_id, order__instrument_id=position.instrument_id)
        if position.user_id in reset_at:
            fills = fills.filter(created_at__gte=reset_at[position.user_id])
        bought = fills.filter(order__side=Order.Side.BUY).aggregate(q=Sum("quantity"))["q"] or Decimal(0)
        sold = fills.filter(order__side=Order.Side.SELL).aggregate(q=Sum("quantity"))["q"] or Decimal(0)
        if position.quantity != bought - sold:
            problems.append(
                f"position {position.pk} ({position.user}, {position.instrument}): quantity {position.quantity} != fills {bought - sold}"
            )
        open_sells = Order.objects.filter(
            user_id=position.user_id,
            instrument_id=position.instrument_id,
            side=Order.Side.SELL,
            status__in=Order.OPEN_STATUSES,
        )
        unfilled = sum((o.quantity - o.filled_quantity for o in open_sells), Decimal(0))
        if position.reserved_quantity != unfilled:
            problems.append(
                f"position {position.pk} ({position.user}, {position.instrument}): reserved {position.reserved_quantity} != open sells {unfilled}"
            )
    return problems


def krx_codes_in_use() -> list[tuple[str, datetime]]:
    """KRX stock codes users hold (open positions) or have open orders on, each with its latest
    use (position or order ``updated_at``, UTC): ``[(code, when)]``, for the KIS realtime planner
    (``KIS_REALTIME["STOCK_FUNCTIONS"]``)."""
    from django.db.models import Max

    from markets.models import Market

    held = (
        Position.objects.filter(instrument__market=Market.KRX, quantity__gt=0)
        .values("instrument__symbol")
        .annotate(when=Max("updated_at"))
    )
    ordered = (
        Order.objects.filter(instrument__market=Market.KRX, status__in=Order.OPEN_STATUSES)
        .values("instrument__symbol")
        .annotate(when=Max("updated_at"))
    )
    return [(row["instrument__symbol"], row["when"]) for row in [*held, *ordered]]


# --- lots ---------------------------------------------------------------------------------


def lot_list(*, user, open_only: bool | None = None) -> QuerySet[Lot]:
    """The user's lots, oldest buy first; ``open_only`` True: still held, False: closed."""
    qs = Lot.objects.filter(user=user).select_related("instrument", "fill__order", "exit_order")
    if open_only is True:
        qs = qs.filter(remaining__gt=0)
    elif open_only is False:
        qs = qs.filter(remaining=0)
    return qs.order_by("opened_at", "id")


@dataclass
class LotClose:
    """One of the first closes after a lot's buy: the session (crypto day), when it closed,
    the stored daily candle's close (None until the candle is stored) and the lot marked at it:
    ``pnl = close x quantity - cost`` (the whole lot as bought, before sell costs), ``ret`` the
    same as a fraction of the cost."""

    number: int
    day: object
    at: datetime
    close: Decimal | None
    pnl: Decimal | None
    ret: Decimal | None


@dataclass
class LotView:
    lot: Lot
    holding_sessions: int
    closes: list[LotClose] = field(default_factory=list)


def _boundary(exchange: str) -> time:
    table = settings.TRADING["BOT_DAY_BOUNDARY"]
    return time.fromisoformat(table.get(exchange, table["default"]))


def lot_views(lots, *, now: datetime | None = None) -> list[LotView]:
    """Each lot with the sessions it has been held (closes since its buy, up to its close or
    ``now``) and its P&L at each of the first ``LOT_CLOSES_SHOWN`` session closes after the
    buy (KRX sessions from the XKRX calendar; crypto days from ``BOT_DAY_BOUNDARY``), marked at
    the stored ``1d`` candles' closes. One candle query for all the lots."""
    now = now or timezone.now()
    lots = list(lots)
    plans = []
    wanted: dict[int, set] = {}
    for lot in lots:
        instrument = lot.instrument
        boundary = _boundary(instrument.exchange)
        closes = holding.closes_after(
            market=instrument.market, at=lot.opened_at, count=LOT_CLOSES_SHOWN, boundary=boundary
        )
        held_until = lot.closed_at or now
        sessions = holding.closes_between(
            market=instrument.market, start=lot.opened_at, end=held_until, boundary=boundary
        )
        plans.append((lot, sessions, closes))
        wanted.setdefault(instrument.pk, set()).update(c.day for c in closes if c.at <= now)
    prices: dict[tuple[int, object], Decimal] = {}
    for instrument_id, days in wanted.items():
        if not days:
            continue
        start = datetime.combine(min(days), time(0, 0), tzinfo=SEOUL)
        end = datetime.combine(max(days) + timedelta(days=1), time(0, 0), tzinfo=SEOUL)
        for open_time, close in Candle.objects.filter(
            instrument_id=instrument_id, interval="1d", open_time__gte=start, open_time__lt=end
        ).values_list("open_time", "close"):
            day = open_time.astimezone(SEOUL).date()
            if day in days:
                prices[(instrument_id, day)] = close
    views = []
    for lot, sessions, closes in plans:
        rows = []
        for number, after in enumerate(closes, start=1):
            price = prices.get((lot.instrument_id, after.day)) if after.at <= now else None
            pnl = price * lot.quantity - lot.cost if price is not None else None
            ret = (pnl / lot.cost) if pnl is not None and lot.cost else None
            rows.append(LotClose(number=number, day=after.day, at=after.at, close=price, pnl=pnl, ret=ret))
        views.append(LotView(lot=lot, holding_sessions=sessions, closes=rows))
    return views
