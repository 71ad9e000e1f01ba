"""Trading writes: accounts, orders, fills, cancels, expiry, reset, quiz-style credits.

Every function that reads a balance and changes it runs in one transaction and locks its rows
through ``trading.locks`` in one order: wallet, then position, then order. Prices come from the
server's ``Ticker`` (never from the client). Domain errors map to 4xx through the API's
exception handler; when one is raised the transaction rolls back and nothing is written.
WebSocket pushes are scheduled with ``transaction.on_commit``.
"""

import logging
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework import status

from core.exceptions import DomainError
from core.fields import decimal_precision
from core.money import plain, quantize_paid, quantize_received
from core.numbers import SQLITE_SIGNIFICANT_DIGITS, parse_plain_decimal
from markets.models import Instrument, Market, Ticker
from trading import rules
from trading.locks import (
    open_orders_qs_select_for_update,
    order_qs_select_for_update,
    position_qs_select_for_update,
    positions_qs_select_for_update,
    wallet_qs_select_for_update,
)
from trading.models import CashEntry, EquitySnapshot, Fill, Order, Position, Wallet

logger = logging.getLogger(__name__)
AVERAGE_PRICE_EXPONENT = Decimal("0.000000000001")


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


def _session_open(instrument: Instrument, *, now: datetime) -> bool:
    if instrument.market != Market.KRX or not _config()["KRX_ENFORCE_SESSION"]:
        return True
    return rules.krx_is_open(now)


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
    *, order: Order, wallet: Wallet, position: Position, price: Decimal, quantity: Decimal, from_reservation: bool
) -> Fill:
    """Execute ``quantity`` of a locked order at ``price`` against its locked wallet and position.

    ``from_reservation``: the order was resting, so its held cash or quantity is released as
    it fills.

    Buys pay cost + fee (rounded up to the cash unit); the cost basis includes the fee. Sells
    receive proceeds (rounded down) minus fee and, on KRX, the sell tax; realized P&L is what
    the sale returned minus the cost basis of what was sold. Raises ``InsufficientFunds`` /
    ``InsufficientPosition``; the caller's transaction then rolls everything back.
    """
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
) -> tuple[Order, bool]:
    """Place an order at the server's price; returns ``(order, created)``.

    A ``client_order_id`` already used by this user returns that order with ``created=False``
    (a retried POST never places twice). Market orders fill at once at the last price with
    slippage, or raise; limit orders fill at once when they cross the last price, else reserve
    cash (buys) or quantity (sells) and rest (IOC: cancel instead). Raises ``InvalidOrder``,
    ``InsufficientFunds``, ``InsufficientPosition`` (400), ``PriceUnavailable``, ``MarketClosed``
    (409) with the field named; nothing is written then.
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
            raise MarketClosed(
                "KRX is outside its regular session (09:00-15:30 Asia/Seoul on trading days).", field="instrument"
            )
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
    *, user, instrument, side, type, quantity, limit_price, time_in_force, client_order_id, price, now
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
    )
    # the order is inserted once, in its final state (filled, canceled, or resting)
    if price is not None:
        _apply_fill(
            order=order, wallet=wallet, position=position, price=price, quantity=quantity, from_reservation=False
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
