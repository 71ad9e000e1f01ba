"""Trading writes: accounts, orders, fills, cancels, expiry, reset, quiz-style credits.

Every function that reads a balance and changes it runs in one transaction and locks its rows
through ``trading.locks`` in one order: wallet, then position, then order. Prices come from the
server's ``Ticker`` (never from the client). Domain errors map to 4xx through the API's
exception handler; when one is raised the transaction rolls back and nothing is written.
WebSocket pushes are scheduled with ``transaction.on_commit``.
"""

import logging
import uuid
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework import status

from accounts.events import ORDER_EXPIRED, ORDER_FILLED, account_event
from core.exceptions import DomainError
from core.fields import decimal_precision
from core.money import cash_exponent, plain, quantize_paid, quantize_received
from core.numbers import SQLITE_SIGNIFICANT_DIGITS, parse_plain_decimal
from markets.clock import market_now
from markets.models import Instrument, Market, Ticker
from trading import holding, rules
from trading.locks import (
    open_orders_qs_select_for_update,
    order_qs_select_for_update,
    position_qs_select_for_update,
    positions_qs_select_for_update,
    wallet_qs_select_for_update,
)
from trading.models import CashEntry, EquitySnapshot, Fill, Lot, Order, Position, Wallet

logger = logging.getLogger(__name__)
AVERAGE_PRICE_EXPONENT = Decimal("0.000000000001")
MAX_EXIT_SESSIONS = 60


class InvalidOrder(DomainError):
    code = "invalid_order"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"


class InsufficientPosition(DomainError):
    code = "insufficient_position"


class PriceUnavailable(DomainError):
    code = "price_unavailable"
    status_code = status.HTTP_409_CONFLICT


class MarketClosed(DomainError):
    code = "market_closed"
    status_code = status.HTTP_409_CONFLICT


class ClientOrderIdReused(DomainError):
    code = "client_order_id_reused"
    status_code = status.HTTP_409_CONFLICT


class OrderNotOpen(DomainError):
    code = "order_not_open"
    status_code = status.HTTP_409_CONFLICT


def _plain(amount: Decimal) -> str:
    """An amount for a message: no padding zeros, thousands separated ("8,264,812")."""
    return f"{Decimal(amount).normalize():,f}"


_json_decimal = plain  # an amount for an event payload, like the API's decimals ("91337000", "0.01")


def _config():
    return settings.TRADING


def account_group(user_id: int) -> str:
    return f"account.{int(user_id)}"


def account_sockets_close(*, user) -> None:
    """Close the user's open ``/ws/account/`` sockets (code 4401) once the transaction commits:
    the ``ACCOUNTS["ON_USER_LOGGED_OUT"]`` hook (logout, a revoked refresh-token family)."""
    user_id = user.pk

    def send():
        try:
            async_to_sync(get_channel_layer().group_send)(account_group(user_id), {"type": "account.close"})
        except Exception:  # best effort, like the pushes
            logger.exception("closing the account sockets of user %s failed", user_id)

    transaction.on_commit(send)


def _push(user_id: int, event: dict) -> None:
    """Send an account event to the user's WebSocket group once the transaction commits."""

    def send():
        try:
            async_to_sync(get_channel_layer().group_send)(
                account_group(user_id), {"type": "account.event", "event": event}
            )
        except Exception:  # a push is best effort; the books are already committed
            logger.exception("account push to user %s failed", user_id)

    transaction.on_commit(send)


# --- wallets and the ledger ---------------------------------------------------------------


def _ledger(*, wallet: Wallet, kind: str, amount: Decimal, fill: Fill | None = None, reference: str = "") -> CashEntry:
    """Move ``amount`` (signed) into a wallet that the caller has locked, with its entry."""
    return _ledger_many(wallet=wallet, movements=[(kind, amount)], fill=fill, reference=reference)[0]


def _ledger_many(
    *, wallet: Wallet, movements: list[tuple[str, Decimal]], fill: Fill | None = None, reference: str = ""
) -> list[CashEntry]:
    """Apply ``(kind, signed amount)`` movements in order to a locked wallet: one wallet write
    and one insert for all entries, each entry with the balance after it."""
    entries = []
    for kind, amount in movements:
        if not amount:
            continue
        wallet.cash += amount
        entries.append(
            CashEntry(
                wallet=wallet, kind=kind, amount=amount, balance_after=wallet.cash, fill=fill, reference=reference
            )
        )
    wallet.save(update_fields=["cash", "reserved", "reset_at", "updated_at"])
    return CashEntry.objects.bulk_create(entries)


@transaction.atomic
def account_open(*, user) -> list[Wallet]:
    """Open the user's wallets (one per currency of ``TRADING["STARTING_CASH"]``), paying the
    starting cash in as deposit entries. Idempotent: existing wallets are left as they are."""
    wallets = []
    for currency, amount in _config()["STARTING_CASH"].items():
        wallet, created = Wallet.objects.get_or_create(user=user, currency=currency)
        if created and amount > 0:
            wallet = wallet_qs_select_for_update(user_id=user.pk, currency=currency).get()
            _ledger(wallet=wallet, kind=CashEntry.Kind.DEPOSIT, amount=Decimal(amount), reference="starting cash")
        wallets.append(wallet)
    return wallets


def _lock_wallet(*, user, currency: str) -> Wallet:
    wallet = wallet_qs_select_for_update(user_id=user.pk, currency=currency).first()
    if wallet is None:
        account_open(user=user)
        wallet = wallet_qs_select_for_update(user_id=user.pk, currency=currency).first()
    if wallet is None:
        raise InvalidOrder(
            f"There is no {currency} wallet: instruments quoted in {currency} cannot be traded.", field="instrument"
        )
    return wallet


def _lock_position(*, user, instrument: Instrument) -> Position:
    position, _ = position_qs_select_for_update(user_id=user.pk, instrument_id=instrument.pk).get_or_create(
        user=user, instrument=instrument
    )
    return position


@transaction.atomic
def wallet_credit(*, user, currency: str, amount: Decimal, kind: str, reference: str = "") -> CashEntry:
    """Credit ``amount`` (> 0) to the user's wallet as a ledger entry of ``kind`` (e.g. a quiz
    reward). Raises ``DomainError`` on a non-positive amount."""
    if amount <= 0:
        raise DomainError("A credit must be positive.", field="amount")
    wallet = _lock_wallet(user=user, currency=currency)
    entry = _ledger(wallet=wallet, kind=kind, amount=Decimal(amount), reference=reference)
    _push(
        user.pk,
        {
            "type": "cash",
            "currency": currency,
            "cash": _json_decimal(wallet.cash),
            "kind": kind,
            "amount": _json_decimal(amount),
        },
    )
    return entry


# --- order validation ---------------------------------------------------------------------


_CASH_DIGITS, _CASH_DECIMALS = decimal_precision(Wallet, "cash")
MAX_ORDER_VALUE = Decimal(10) ** (_CASH_DIGITS - _CASH_DECIMALS)  # 1e22: what a cash column holds


def _parse_decimal(value, field: str) -> Decimal:
    """``value`` as a Decimal the database stores exactly (``core.numbers``): ASCII decimal
    syntax, the order's quantity or price column's precision, 15 significant digits on SQLite;
    ``InvalidOrder`` naming ``field`` otherwise (never rounded)."""
    max_digits, decimal_places = decimal_precision(Order, "quantity" if field == "quantity" else "limit_price")
    max_significant = SQLITE_SIGNIFICANT_DIGITS if connection.vendor == "sqlite" else None
    try:
        return parse_plain_decimal(
            value, max_digits=max_digits, decimal_places=decimal_places, max_significant=max_significant
        )
    except ValueError as exc:
        raise InvalidOrder(str(exc), field=field) from None


def _fresh_ticker(instrument: Instrument, *, now: datetime) -> Ticker | None:
    """The instrument's ticker if the feed updated it within ``TICKER_MAX_AGE_SECONDS``.

    Freshness is when the server last heard the price (``updated_at``): a replay's recorded
    clock is in the past by design, and a live feed's exchange time is within seconds of it."""
    ticker = getattr(instrument, "ticker", None)
    if ticker is None or now - ticker.updated_at > timedelta(seconds=_config()["TICKER_MAX_AGE_SECONDS"]):
        return None
    return ticker


KRX_CLOSED_MESSAGE = "KRX is outside its regular session (09:00-15:30 Asia/Seoul on trading days)."


def krx_session_state(*, now: datetime) -> dict:
    """KRX's regular session at the market's present (the demo clock's instant in a replay):
    ``{"market": "krx", "open", "enforced" (``TRADING["KRX_ENFORCE_SESSION"]``), "now" (aware
    UTC, the market's present), "message" (what a market order would be refused with, or
    None)}``. The ticket shows the message before the order; limit orders may still rest."""
    at = market_now(now)
    enforced = bool(_config()["KRX_ENFORCE_SESSION"])
    is_open = rules.krx_is_open(at)
    return {
        "market": "krx",
        "open": is_open,
        "enforced": enforced,
        "now": at,
        "message": None if is_open or not enforced else KRX_CLOSED_MESSAGE,
    }


def _session_open(instrument: Instrument, *, now: datetime) -> bool:
    """KRX's regular session at the market's present: the demo clock's instant in a replay
    (``markets.clock.market_now``), the wall clock otherwise."""
    if instrument.market != Market.KRX or not _config()["KRX_ENFORCE_SESSION"]:
        return True
    return rules.krx_is_open(market_now(now))


def _expiry(instrument: Instrument, *, now: datetime) -> datetime:
    if instrument.market == Market.KRX:
        return rules.krx_session_close(now)
    return rules.crypto_day_end(now)


def _tick(instrument: Instrument, price: Decimal) -> Decimal | None:
    return rules.tick_size(
        exchange=instrument.exchange, quote=instrument.quote, price=price, instrument_tick=instrument.tick_size
    )


def _fee_bps(instrument: Instrument) -> Decimal:
    return Decimal(_config()["FEE_BPS"].get(instrument.exchange, 0))


def _check_min_value(instrument: Instrument, *, price: Decimal, quantity: Decimal) -> None:
    minimum = _config()["MIN_ORDER_VALUE"].get(instrument.quote)
    if minimum is not None and price * quantity < minimum:
        raise InvalidOrder(
            f"The order value {_plain(price * quantity)} {instrument.quote} is below the minimum of {_plain(minimum)}.",
            field="quantity",
        )


# --- placing and filling ------------------------------------------------------------------


def _apply_fill(
    *,
    order: Order,
    wallet: Wallet,
    position: Position,
    price: Decimal,
    quantity: Decimal,
    from_reservation: bool,
    now: datetime | None = None,
) -> Fill:
    """Execute ``quantity`` of a locked order at ``price`` against its locked wallet and position.

    ``from_reservation``: the order was resting, so its held cash or quantity is released as
    it fills.

    Buys pay cost + fee (rounded up to the cash unit); the cost basis includes the fee. Sells
    receive proceeds (rounded down) minus fee and, on KRX, the sell tax; realized P&L is what
    the sale returned minus the cost basis of what was sold. Raises ``InsufficientFunds`` /
    ``InsufficientPosition``; the caller's transaction then rolls everything back.

    Lots: a buy fill opens one (one insert); a sell closes the open lots first-in first-out
    (the exit order's own lot first), one read and one bulk update (``_close_lots``).
    """
    now = now or timezone.now()
    instrument, currency = order.instrument, wallet.currency
    notional = price * quantity
    fee = quantize_paid(rules.bps_of(notional, _fee_bps(instrument)), currency)
    if order.side == Order.Side.BUY:
        if from_reservation:
            wallet.reserved -= order.reserved_cash
            order.reserved_cash = Decimal(0)
        cost = quantize_paid(notional, currency)
        if wallet.cash - wallet.reserved < cost + fee:
            raise InsufficientFunds(
                f"Needs {_plain(cost + fee)} {currency} (cost {_plain(cost)} + fee {_plain(fee)}); {_plain(wallet.cash - wallet.reserved)} available.",
                field="quantity",
            )
        fill = Fill(price=price, quantity=quantity, fee=fee)
        movements: list[tuple[str, Decimal]] = [(CashEntry.Kind.BUY, -cost), (CashEntry.Kind.FEE, -fee)]
        held = position.quantity
        position.average_entry_price = (
            (held * position.average_entry_price + cost + fee) / (held + quantity)
        ).quantize(AVERAGE_PRICE_EXPONENT, rounding=ROUND_HALF_EVEN)
        position.quantity = held + quantity
    else:
        if from_reservation:
            position.reserved_quantity -= quantity
        if position.quantity - position.reserved_quantity < quantity:
            raise InsufficientPosition(
                f"Holding {_plain(position.quantity - position.reserved_quantity)} available; cannot sell {_plain(quantity)}.",
                field="quantity",
            )
        proceeds = quantize_received(notional, currency)
        tax = (
            quantize_paid(rules.bps_of(notional, _config()["KRX_SELL_TAX_BPS"]), currency)
            if instrument.market == Market.KRX
            else Decimal(0)
        )
        realized = proceeds - fee - tax - position.average_entry_price * quantity
        fill = Fill(price=price, quantity=quantity, fee=fee, tax=tax, realized_pnl=realized)
        net = proceeds - fee - tax
        movements = [(CashEntry.Kind.SELL, proceeds), (CashEntry.Kind.FEE, -fee), (CashEntry.Kind.TAX, -tax)]
        position.quantity -= quantity
        position.realized_pnl += realized
        if position.quantity == 0:
            position.average_entry_price = Decimal(0)
    previous = order.filled_quantity
    order.filled_quantity = previous + quantity
    order.average_fill_price = (
        ((order.average_fill_price or 0) * previous + price * quantity) / order.filled_quantity
    ).quantize(AVERAGE_PRICE_EXPONENT, rounding=ROUND_HALF_EVEN)
    order.status = Order.Status.FILLED if order.filled_quantity == order.quantity else Order.Status.PARTIALLY_FILLED
    # every check has passed: the writes, one statement each (a new order is inserted filled)
    order.save()
    fill.order = order
    fill.save()
    _ledger_many(wallet=wallet, movements=movements, fill=fill)
    position.save()
    if order.side == Order.Side.BUY:
        _open_lot(order=order, fill=fill, cost=cost + fee, now=now)
    else:
        _close_lots(order=order, quantity=quantity, net=net, currency=currency, now=now)
    if order.status == Order.Status.FILLED:
        side = "매수 · buy" if order.side == Order.Side.BUY else "매도 · sell"
        account_event(
            user_id=order.user_id,
            event=ORDER_FILLED,
            text=f"주문 체결 · Order filled: #{order.pk} {side} {_plain(order.filled_quantity)} "
            f"{instrument.symbol} @ {_plain(order.average_fill_price)} {currency}",
        )
    _push(
        order.user_id,
        {
            "type": "fill",
            "order_id": order.pk,
            "price": _json_decimal(price),
            "quantity": _json_decimal(quantity),
            "fee": _json_decimal(fee),
        },
    )
    return fill


# --- lots ---------------------------------------------------------------------------------


def _day_boundary(exchange: str) -> time:
    """Where a crypto exchange's day starts, Asia/Seoul (``TRADING["BOT_DAY_BOUNDARY"]``)."""
    table = _config()["BOT_DAY_BOUNDARY"]
    return time.fromisoformat(table.get(exchange, table["default"]))


def lot_exit_due(*, instrument: Instrument, opened_at: datetime, sessions: int) -> datetime | None:
    """When a lot bought at ``opened_at`` and held ``sessions`` sessions is sold: KRX,
    ``TRADING["LOT_EXIT_LEAD_SECONDS"]`` before its Nth session close (so the market order
    still fills in the session); crypto, at its Nth day boundary. None past the calendar's end."""
    closes = holding.closes_after(
        market=instrument.market, at=opened_at, count=sessions, boundary=_day_boundary(instrument.exchange)
    )
    if len(closes) < sessions:
        return None
    due = closes[-1].at
    if instrument.market == Market.KRX:
        due -= timedelta(seconds=int(_config()["LOT_EXIT_LEAD_SECONDS"]))
    return due


def _new_lot(*, order: Order, fill: Fill, cost: Decimal, now: datetime) -> Lot:
    instrument = order.instrument
    sessions = order.exit_after_sessions
    due = lot_exit_due(instrument=instrument, opened_at=now, sessions=sessions) if sessions else None
    return Lot(
        user_id=order.user_id,
        instrument=instrument,
        fill=fill,
        opened_at=now,
        day=holding.lot_day(market=instrument.market, at=now, boundary=_day_boundary(instrument.exchange)),
        quantity=fill.quantity,
        remaining=fill.quantity,
        price=(cost / fill.quantity).quantize(AVERAGE_PRICE_EXPONENT, rounding=ROUND_HALF_EVEN),
        cost=cost,
        remaining_cost=cost,
        exit_after_sessions=sessions,
        exit_due_at=due,
        exit_state=Lot.ExitState.SCHEDULED if sessions else Lot.ExitState.NONE,
        exit_note=(
            f"sells at the close of session {sessions} after the buy, {due.astimezone(rules.SEOUL):%Y-%m-%d %H:%M} Asia/Seoul"
            if due
            else ("the calendar does not reach the exit session yet" if sessions else "")
        ),
    )


def _open_lot(*, order: Order, fill: Fill, cost: Decimal, now: datetime) -> Lot:
    lot = _new_lot(order=order, fill=fill, cost=cost, now=now)
    lot.save()
    return lot


def close_lots_fifo(lots: list[Lot], *, quantity: Decimal, net: Decimal, currency: str, now: datetime) -> list[Lot]:
    """Close ``quantity`` of ``lots`` (in the order given: oldest first) for a sell whose net
    proceeds (proceeds - fee - tax) are ``net``. Each closed part gets its share of ``net``
    pro rata to quantity, rounded to the cash unit (the last part takes the remainder, so the
    shares sum to ``net``), and the cost basis of that part (the lot's last part takes its
    whole remaining cost). Returns the lots changed; nothing is saved. Lots are closed as far
    as they reach: a position older than its lots (see ``lots_rebuild``) leaves the rest."""
    unit = cash_exponent(currency)
    left = quantity
    changed: list[Lot] = []
    shared = Decimal(0)
    for lot in lots:
        if left <= 0:
            break
        part = min(lot.remaining, left)
        if part <= 0:
            continue
        left -= part
        last = left <= 0 or lot is lots[-1]
        share = net - shared if last else (net * part / quantity).quantize(unit, rounding=ROUND_HALF_EVEN)
        shared += share
        if part == lot.remaining:
            part_cost = lot.remaining_cost
        else:
            part_cost = (lot.remaining_cost * part / lot.remaining).quantize(unit, rounding=ROUND_HALF_EVEN)
        lot.remaining -= part
        lot.remaining_cost -= part_cost
        lot.realized_pnl += share - part_cost
        if lot.remaining == 0:
            lot.closed_at = now
            if lot.exit_state in (Lot.ExitState.SCHEDULED, Lot.ExitState.DEFERRED):
                lot.exit_state = Lot.ExitState.SKIPPED
                lot.exit_note = "closed by a sell before its exit"
        changed.append(lot)
    return changed


_LOT_CLOSE_FIELDS = ["remaining", "remaining_cost", "realized_pnl", "closed_at", "exit_state", "exit_note"]


def _close_lots(*, order: Order, quantity: Decimal, net: Decimal, currency: str, now: datetime) -> None:
    """Close open lots of the order's position first-in first-out (an exit order's own lot
    first): one read (the position row is locked, so the lots cannot change meanwhile) and one
    bulk update."""
    lots = list(
        Lot.objects.filter(user_id=order.user_id, instrument_id=order.instrument_id, remaining__gt=0).order_by(
            "opened_at", "id"
        )
    )
    if order.closes_lot_id is not None:
        lots.sort(key=lambda lot: lot.pk != order.closes_lot_id)  # stable: the rest stay FIFO
    changed = close_lots_fifo(lots, quantity=quantity, net=net, currency=currency, now=now)
    if changed:
        Lot.objects.bulk_update(changed, _LOT_CLOSE_FIELDS)


def lots_rebuild(*, user=None, progress=None) -> int:
    """Rebuild every lot (of ``user``, or of everyone) from the fills, oldest first: what the
    order path would have written, had lots existed. Fills before a user's last account reset
    open lots that the reset closed. Returns the number of lots written. Each user in one
    transaction; ``progress`` (e.g. a tqdm bar) gets ``update(1)`` per user."""
    users = get_user_model().objects.filter(orders__fills__isnull=False).distinct().order_by("pk")
    if user is not None:
        users = users.filter(pk=user.pk)
    written = 0
    for owner in users:
        with transaction.atomic():
            Order.objects.filter(user=owner, closes_lot__isnull=False).update(closes_lot=None)
            Lot.objects.filter(user=owner).delete()
            reset_at = (
                Wallet.objects.filter(user=owner, reset_at__isnull=False)
                .order_by("-reset_at")
                .values_list("reset_at", flat=True)
            ).first()
            open_lots: dict[int, list[Lot]] = {}
            every: list[Lot] = []
            fills = (
                Fill.objects.filter(order__user=owner)
                .select_related("order", "order__instrument")
                .order_by("created_at", "id")
            )
            for fill in fills:
                order = fill.order
                instrument = order.instrument
                if reset_at is not None and fill.created_at >= reset_at:
                    for lots in open_lots.values():
                        for lot in lots:
                            _reset_close(lot, reset_at)
                    open_lots, reset_at = {}, None
                lots = open_lots.setdefault(instrument.pk, [])
                if order.side == Order.Side.BUY:
                    cost = quantize_paid(fill.price * fill.quantity, instrument.quote) + fill.fee
                    lot = _new_lot(order=order, fill=fill, cost=cost, now=fill.created_at)
                    lot.save()
                    lots.append(lot)
                    every.append(lot)
                    written += 1
                else:
                    proceeds = quantize_received(fill.price * fill.quantity, instrument.quote)
                    mine = [lot for lot in lots if lot.remaining > 0]
                    if order.closes_lot_id is not None:
                        mine.sort(key=lambda lot: lot.pk != order.closes_lot_id)
                    close_lots_fifo(
                        mine,
                        quantity=fill.quantity,
                        net=proceeds - fill.fee - fill.tax,
                        currency=instrument.quote,
                        now=fill.created_at,
                    )
            if reset_at is not None and reset_at <= timezone.now():
                for lots in open_lots.values():
                    for lot in lots:
                        _reset_close(lot, reset_at)
            if every:
                Lot.objects.bulk_update(every, _LOT_CLOSE_FIELDS, batch_size=500)
        if progress is not None:
            progress.update(1)
    return written


def _reset_close(lot: Lot, at: datetime) -> None:
    if lot.remaining > 0:
        lot.remaining, lot.remaining_cost, lot.closed_at = Decimal(0), Decimal(0), at
        if lot.exit_state in (Lot.ExitState.SCHEDULED, Lot.ExitState.DEFERRED):
            lot.exit_state, lot.exit_note = Lot.ExitState.SKIPPED, "closed by the account reset"


def order_place(
    *,
    user,
    instrument_id: int,
    side: str,
    type: str,
    quantity,
    limit_price=None,
    time_in_force: str = Order.TimeInForce.GTC,
    client_order_id: str | None = None,
    now: datetime | None = None,
    exit_after_sessions: int | None = None,
    closes_lot: Lot | None = None,
) -> tuple[Order, bool]:
    """Place an order at the server's price; returns ``(order, created)``.

    A ``client_order_id`` already used by this user returns that order with ``created=False``
    (a retried POST never places twice). Market orders fill at once at the last price with
    slippage, or raise; limit orders fill at once when they cross the last price, else reserve
    cash (buys) or quantity (sells) and rest (IOC: cancel instead). Raises ``InvalidOrder``,
    ``InsufficientFunds``, ``InsufficientPosition`` (400), ``PriceUnavailable``, ``MarketClosed``
    (409) with the field named; nothing is written then.

    ``exit_after_sessions`` (buys, 1..60): each lot the order opens is sold at its Nth session
    close (crypto: day boundary) by ``lots_exit_due``. ``closes_lot``: a sell that closes this
    lot first (the exit of that lot), then the others first-in first-out.
    """
    now = now or timezone.now()
    if client_order_id:  # a retry is only possible with the client's own id
        existing = Order.objects.filter(user=user, client_order_id=client_order_id).first()
        if existing is not None:
            return _same_order(
                existing, instrument_id=instrument_id, side=side, type=type, quantity=quantity, limit_price=limit_price
            ), False
    client_order_id = client_order_id or uuid.uuid4().hex
    instrument = Instrument.objects.filter(pk=instrument_id, active=True).select_related("ticker").first()
    if instrument is None:
        raise InvalidOrder("No active instrument with this id.", field="instrument")
    if side not in Order.Side.values:
        raise InvalidOrder(f"Must be one of {', '.join(Order.Side.values)}.", field="side")
    if type not in Order.Type.values:
        raise InvalidOrder(f"Must be one of {', '.join(Order.Type.values)}.", field="type")
    if time_in_force not in Order.TimeInForce.values:
        raise InvalidOrder(f"Must be one of {', '.join(Order.TimeInForce.values)}.", field="time_in_force")
    if exit_after_sessions is not None:
        if side != Order.Side.BUY:
            raise InvalidOrder("Only a buy opens lots to exit.", field="exit_after_sessions")
        if isinstance(exit_after_sessions, bool) or not isinstance(exit_after_sessions, int):
            raise InvalidOrder("Must be a whole number of sessions.", field="exit_after_sessions")
        if not 1 <= exit_after_sessions <= MAX_EXIT_SESSIONS:
            raise InvalidOrder(f"Must be between 1 and {MAX_EXIT_SESSIONS}.", field="exit_after_sessions")
    quantity = _parse_decimal(quantity, "quantity")
    if quantity <= 0:
        raise InvalidOrder("Must be greater than zero.", field="quantity")
    lot = rules.lot_size(market=instrument.market, instrument_lot=instrument.lot_size)
    if not rules.is_multiple(quantity, lot):
        raise InvalidOrder(f"Must be a multiple of the lot size {_plain(lot)}.", field="quantity")

    ticker = _fresh_ticker(instrument, now=now)
    if type == Order.Type.MARKET:
        if limit_price not in (None, ""):
            raise InvalidOrder("A market order takes no limit price.", field="limit_price")
        if not _session_open(instrument, now=now):
            raise MarketClosed(KRX_CLOSED_MESSAGE, field="instrument")
        if ticker is None:
            raise PriceUnavailable(
                "No fresh price for this instrument; try again when the feed is live.", field="instrument"
            )
        time_in_force = Order.TimeInForce.IOC
        price = rules.market_fill_price(
            last=ticker.last_price,
            side=side,
            slippage_bps=_config()["SLIPPAGE_BPS"],
            tick=_tick(instrument, ticker.last_price),
        )
        _check_min_value(instrument, price=price, quantity=quantity)
    else:
        if limit_price in (None, ""):
            raise InvalidOrder("A limit order needs a limit price.", field="limit_price")
        limit = _parse_decimal(limit_price, "limit_price")
        limit_price = limit
        if limit <= 0:
            raise InvalidOrder("Must be greater than zero.", field="limit_price")
        tick = _tick(instrument, limit)
        if tick is not None and not rules.is_multiple(limit, tick):
            raise InvalidOrder(
                f"Must be a multiple of the tick size {_plain(tick)} at this price.", field="limit_price"
            )
        _check_min_value(instrument, price=limit, quantity=quantity)
        price = None
        if (
            ticker is not None
            and _session_open(instrument, now=now)
            and (ticker.last_price <= limit if side == Order.Side.BUY else ticker.last_price >= limit)
        ):  # the limit crosses the last price: it fills now, at no worse than the limit
            slipped = rules.market_fill_price(
                last=ticker.last_price,
                side=side,
                slippage_bps=_config()["SLIPPAGE_BPS"],
                tick=_tick(instrument, ticker.last_price),
            )
            price = min(slipped, limit) if side == Order.Side.BUY else max(slipped, limit)

    # the order's value must fit a cash amount (MoneyField: 22 whole digits), else quantizing it
    # overflows Decimal's context (InvalidOperation near 1e28 was a 500)
    if quantity * (price if price is not None else limit_price) >= MAX_ORDER_VALUE:
        raise InvalidOrder(f"The order's value must be below {MAX_ORDER_VALUE:.0e}.", field="quantity")
    try:
        order = _place_locked(
            user=user,
            instrument=instrument,
            side=side,
            type=type,
            quantity=quantity,
            limit_price=limit_price,
            time_in_force=time_in_force,
            client_order_id=client_order_id,
            price=price,
            now=now,
            exit_after_sessions=exit_after_sessions,
            closes_lot=closes_lot,
        )
    except InvalidOperation:
        raise InvalidOrder("The order's value is beyond what an account can hold.", field="quantity") from None
    except IntegrityError:
        # the same client_order_id committed by a concurrent request: this is its retry
        existing = Order.objects.filter(user=user, client_order_id=client_order_id).first()
        if existing is None:
            raise
        return _same_order(
            existing, instrument_id=instrument_id, side=side, type=type, quantity=quantity, limit_price=limit_price
        ), False
    return order, True


def _same_order(order: Order, *, instrument_id, side, type, quantity, limit_price) -> Order:
    """``order`` when a retry asks for the same thing; a reused ``client_order_id`` with other
    parameters is a client bug, refused rather than answered with an unrelated order."""

    def number(value):
        try:
            return Decimal(str(value)) if value not in (None, "") else None
        except InvalidOperation:
            return value

    asked = (
        int(instrument_id),
        side,
        type,
        number(quantity),
        number(limit_price) if type == Order.Type.LIMIT else None,
    )
    placed = (order.instrument_id, order.side, order.type, order.quantity, order.limit_price)
    if asked != placed:
        raise ClientOrderIdReused(
            f"client_order_id {order.client_order_id!r} was used for another order (#{order.pk}).",
            field="client_order_id",
        )
    return order


@transaction.atomic
def _place_locked(
    *,
    user,
    instrument,
    side,
    type,
    quantity,
    limit_price,
    time_in_force,
    client_order_id,
    price,
    now,
    exit_after_sessions=None,
    closes_lot=None,
) -> Order:
    """The write half of ``order_place``: lock wallet then position, create, fill or reserve."""
    wallet = _lock_wallet(user=user, currency=instrument.quote)
    position = _lock_position(user=user, instrument=instrument)
    order = Order(
        user=user,
        instrument=instrument,
        side=side,
        type=type,
        quantity=quantity,
        limit_price=limit_price if type == Order.Type.LIMIT else None,
        time_in_force=time_in_force,
        client_order_id=client_order_id,
        expires_at=_expiry(instrument, now=now) if time_in_force == Order.TimeInForce.DAY else None,
        exit_after_sessions=exit_after_sessions,
        closes_lot=closes_lot,
    )
    # the order is inserted once, in its final state (filled, canceled, or resting)
    if price is not None:
        _apply_fill(
            order=order,
            wallet=wallet,
            position=position,
            price=price,
            quantity=quantity,
            from_reservation=False,
            now=now,
        )
    elif time_in_force == Order.TimeInForce.IOC:
        order.status = Order.Status.CANCELED
        order.save()
    else:
        order.save()
        _reserve(order=order, wallet=wallet, position=position)
    _push(user.pk, {"type": "order", "order_id": order.pk, "status": order.status})
    return order


def _reserve(*, order: Order, wallet: Wallet, position: Position) -> None:
    """Hold what a resting limit order may need: cash for cost + fee at the limit (buys), or the
    quantity (sells)."""
    if order.side == Order.Side.BUY:
        notional = order.limit * order.quantity
        need = quantize_paid(notional, wallet.currency) + quantize_paid(
            rules.bps_of(notional, _fee_bps(order.instrument)), wallet.currency
        )
        if wallet.cash - wallet.reserved < need:
            raise InsufficientFunds(
                f"Needs {_plain(need)} {wallet.currency} reserved; {_plain(wallet.cash - wallet.reserved)} available.",
                field="quantity",
            )
        wallet.reserved += need
        wallet.save(update_fields=["reserved", "updated_at"])
        order.reserved_cash = need
        order.save(update_fields=["reserved_cash", "updated_at"])
    else:
        if position.quantity - position.reserved_quantity < order.quantity:
            raise InsufficientPosition(
                f"Holding {_plain(position.quantity - position.reserved_quantity)} available; cannot sell {_plain(order.quantity)}.",
                field="quantity",
            )
        position.reserved_quantity += order.quantity
        position.save(update_fields=["reserved_quantity", "updated_at"])


def _release(*, order: Order, wallet: Wallet, position: Position) -> None:
    if order.side == Order.Side.BUY:
        wallet.reserved -= order.reserved_cash
        wallet.save(update_fields=["reserved", "updated_at"])
        order.reserved_cash = Decimal(0)
    else:
        position.reserved_quantity -= order.quantity - order.filled_quantity
        position.save(update_fields=["reserved_quantity", "updated_at"])


def _lock_order_books(order_id: int) -> tuple[Order, Wallet, Position]:
    """Lock an order's wallet, position and the order itself, in the fixed order."""
    order = Order.objects.select_related("instrument", "user").get(pk=order_id)
    wallet = _lock_wallet(user=order.user, currency=order.instrument.quote)
    position = _lock_position(user=order.user, instrument=order.instrument)
    locked = (
        order_qs_select_for_update(pk=order_id).select_related("instrument", "user").get()
    )  # locks the order row only
    return locked, wallet, position


def _close(order_id: int, *, status_to: str) -> Order:
    order, wallet, position = _lock_order_books(order_id)
    if not order.is_open:
        raise OrderNotOpen(f"The order is {order.status}; only open orders can be {status_to}.", field="status")
    _release(order=order, wallet=wallet, position=position)
    order.status = status_to
    order.save(update_fields=["status", "reserved_cash", "updated_at"])
    if status_to == Order.Status.EXPIRED:
        account_event(
            user_id=order.user_id,
            event=ORDER_EXPIRED,
            text=f"주문 만료 · Order expired: #{order.pk} {order.side} {_plain(order.quantity)} "
            f"{order.instrument.symbol} ({_plain(order.filled_quantity)} filled)",
        )
    _push(order.user_id, {"type": "order", "order_id": order.pk, "status": order.status})
    return order


@transaction.atomic
def order_cancel(*, user, order_id: int) -> Order:
    """Cancel the user's open order and release its reservation. Raises ``Order.DoesNotExist``
    (404) for another user's order and ``OrderNotOpen`` (409) when it is no longer open."""
    Order.objects.get(pk=order_id, user=user)
    return _close(order_id, status_to=Order.Status.CANCELED)


def orders_expire(*, now: datetime | None = None) -> int:
    """Expire open DAY orders whose session ended; returns how many. Each order in its own
    transaction, so one failure does not hold the others."""
    now = now or timezone.now()
    expired = 0
    for order_id in Order.objects.filter(status__in=Order.OPEN_STATUSES, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        try:
            with transaction.atomic():
                _close(order_id, status_to=Order.Status.EXPIRED)
            expired += 1
        except OrderNotOpen:
            continue  # filled or canceled meanwhile
    return expired


def limit_orders_match(*, instrument_ids) -> int:
    """Fill resting limit orders that the instruments' latest prices cross (buy: last <= limit;
    sell: last >= limit), at their limit price. Called by the ticker feed after each batch;
    returns the number of fills. Each order fills in its own transaction."""
    filled = 0
    last = F("instrument__ticker__last_price")
    crossing = (
        Order.objects.filter(
            instrument_id__in=list(instrument_ids), type=Order.Type.LIMIT, status__in=Order.OPEN_STATUSES
        )
        .filter(Q(side=Order.Side.BUY, limit_price__gte=last) | Q(side=Order.Side.SELL, limit_price__lte=last))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for order_id in crossing:
        with transaction.atomic():
            order, wallet, position = _lock_order_books(order_id)
            if not order.is_open:
                continue
            try:
                _apply_fill(
                    order=order,
                    wallet=wallet,
                    position=position,
                    price=order.limit,
                    quantity=order.quantity - order.filled_quantity,
                    from_reservation=True,
                )
            except (InsufficientFunds, InsufficientPosition):
                logger.exception("resting order %s could not fill", order_id)
                continue
            filled += 1
    return filled


@transaction.atomic
def account_reset(*, user) -> list[Wallet]:
    """Start over: cancel open orders, close positions without trading them, and bring each
    wallet back to its starting cash with a ``reset`` entry. History (orders, fills, ledger)
    is kept; ``reset_at`` marks where the position check starts again."""
    now = timezone.now()
    starting = _config()["STARTING_CASH"]
    wallets = [_lock_wallet(user=user, currency=currency) for currency in sorted(starting)]
    positions = list(positions_qs_select_for_update(user_id=user.pk))
    orders = list(open_orders_qs_select_for_update(user_id=user.pk))
    for order in orders:
        order.status = Order.Status.CANCELED
        order.reserved_cash = Decimal(0)
        order.save(update_fields=["status", "reserved_cash", "updated_at"])
    Lot.objects.filter(user=user, remaining__gt=0).exclude(
        exit_state__in=[Lot.ExitState.SCHEDULED, Lot.ExitState.DEFERRED]
    ).update(remaining=0, remaining_cost=0, closed_at=now)
    Lot.objects.filter(user=user, remaining__gt=0).update(
        remaining=0,
        remaining_cost=0,
        closed_at=now,
        exit_state=Lot.ExitState.SKIPPED,
        exit_note="closed by the account reset",
    )
    for position in positions:
        position.quantity = position.reserved_quantity = position.average_entry_price = position.realized_pnl = Decimal(
            0
        )
        position.save()
    for wallet in wallets:
        wallet.reserved = Decimal(0)
        wallet.reset_at = now
        difference = Decimal(starting[wallet.currency]) - wallet.cash
        if difference:
            _ledger(wallet=wallet, kind=CashEntry.Kind.RESET, amount=difference, reference="account reset")
        else:
            wallet.save()
    _push(user.pk, {"type": "reset"})
    return wallets


def equity_snapshot_all(*, now: datetime | None = None) -> int:
    """Record each user's equity per currency for today's date in Asia/Seoul (an upsert, so a
    second run the same day refreshes the row). Returns the number of snapshots written."""
    from trading.selectors import portfolio

    now = now or timezone.now()
    day = now.astimezone(rules.SEOUL).date()
    written = 0
    for user in get_user_model().objects.filter(wallets__isnull=False).distinct():
        _, totals = portfolio(user=user)
        EquitySnapshot.objects.bulk_create(
            [
                EquitySnapshot(
                    user=user,
                    currency=t.currency,
                    date=day,
                    cash=t.cash,
                    positions_value=t.positions_value,
                    equity=t.equity,
                )
                for t in totals
            ],
            update_conflicts=True,
            unique_fields=["user", "currency", "date"],
            update_fields=["cash", "positions_value", "equity"],
        )
        written += len(totals)
    return written


# --- the exit after N sessions ------------------------------------------------------------


def _seoul(at: datetime) -> str:
    return f"{at.astimezone(rules.SEOUL):%Y-%m-%d %H:%M} Asia/Seoul"


def _lot_exit_mark(lot: Lot, *, state: str, note: str, order: Order | None = None) -> None:
    """Record an exit's outcome on the lot: only the exit columns (a concurrent fill may have
    just written ``remaining``)."""
    lot.exit_state, lot.exit_note = state, note[:300]
    fields: dict[str, object] = {"exit_state": state, "exit_note": lot.exit_note}
    if order is not None:
        lot.exit_order = order
        fields["exit_order"] = order
    Lot.objects.filter(pk=lot.pk).update(**fields)


def lot_exit(*, lot: Lot, now: datetime | None = None) -> Lot:
    """Sell a due lot at market through ``order_place`` with ``client_order_id``
    ``exit-lot-<id>``, so a rerun finds the order placed before and sells nothing more.

    A closed KRX market defers the exit to the next open (``exit_state`` ``deferred``, the
    note says when); no fresh price keeps it due for the next run; nothing left to sell (sold
    or reserved by other orders) marks it ``skipped``; another refusal marks it ``rejected``
    with the reason. Returns the lot with its exit columns as recorded."""
    now = now or timezone.now()
    key = f"exit-lot-{lot.pk}"
    placed = Order.objects.filter(user_id=lot.user_id, client_order_id=key).first()
    if placed is not None:  # a rerun: the exit was placed already
        if lot.exit_state != Lot.ExitState.DONE:
            _lot_exit_mark(lot, state=Lot.ExitState.DONE, note=_sold_note(placed), order=placed)
        return lot
    instrument = lot.instrument
    if not _session_open(instrument, now=now):
        if lot.exit_state == Lot.ExitState.DEFERRED:
            return lot  # stated already
        try:
            opens = _seoul(holding.krx_next_open(now))
        except ValueError:
            opens = "the next session the calendar knows"
        _lot_exit_mark(
            lot,
            state=Lot.ExitState.DEFERRED,
            note=f"KRX was closed at {_seoul(now)}; the exit after {lot.exit_after_sessions} sessions sells at the next open, {opens}",
        )
        return lot
    position = Position.objects.filter(user_id=lot.user_id, instrument=instrument).first()
    available = position.quantity - position.reserved_quantity if position else Decimal(0)
    lot.refresh_from_db(fields=["remaining"])
    quantity = min(lot.remaining, available)
    if quantity <= 0:
        _lot_exit_mark(
            lot,
            state=Lot.ExitState.SKIPPED,
            note="nothing left to sell: the lot was sold, or its quantity is held by open sell orders",
        )
        return lot
    try:
        order, _ = order_place(
            user=lot.user,
            instrument_id=instrument.pk,
            side=Order.Side.SELL,
            type=Order.Type.MARKET,
            quantity=quantity,
            client_order_id=key,
            now=now,
            closes_lot=lot,
        )
    except PriceUnavailable as exc:
        _lot_exit_mark(lot, state=lot.exit_state, note=f"waits for a price ({_seoul(now)}): {exc.message}")
        return lot
    except MarketClosed:
        _lot_exit_mark(lot, state=Lot.ExitState.DEFERRED, note=f"the market was closed at {_seoul(now)}")
        return lot
    except DomainError as exc:
        _lot_exit_mark(lot, state=Lot.ExitState.REJECTED, note=f"the exit sell was rejected: {exc.message}")
        return lot
    _lot_exit_mark(lot, state=Lot.ExitState.DONE, note=_sold_note(order, short=quantity < lot.remaining), order=order)
    return lot


def _sold_note(order: Order, *, short: bool = False) -> str:
    price = _plain(order.average_fill_price) if order.average_fill_price is not None else "-"
    rest = " (the rest was held by open sell orders)" if short else ""
    return f"sold {_plain(order.filled_quantity)} at {price} by order #{order.pk}, {_seoul(order.created_at)}{rest}"


def lots_exit_due(*, now: datetime | None = None) -> int:
    """Carry out every lot exit due at ``now`` (``lot_exit``; the beat runs it every minute);
    returns how many lots were sold. Each lot on its own, so one failure holds no other."""
    now = now or timezone.now()
    sold = 0
    due = (
        Lot.objects.filter(
            exit_state__in=[Lot.ExitState.SCHEDULED, Lot.ExitState.DEFERRED], exit_due_at__lte=now, remaining__gt=0
        )
        .select_related("instrument", "user")
        .order_by("exit_due_at", "id")
    )
    for lot in due:
        try:
            lot_exit(lot=lot, now=now)
        except Exception:
            logger.exception("exit of lot %s failed", lot.pk)
            continue
        sold += lot.exit_state == Lot.ExitState.DONE
    return sold
