"""Row locks, always taken in one order: wallet, then positions by pk, then orders by pk.

Every service that reads a balance and then changes it takes its locks through these helpers
inside ``transaction.atomic``, so two requests for the same user queue instead of both
spending the same cash. (SQLite has no row locks; its IMMEDIATE transactions serialize writers.)
"""

from trading.models import Order, Position, Wallet


def wallet_qs_select_for_update(*, user_id: int, currency: str):
    return Wallet.objects.select_for_update(of=("self",)).filter(user_id=user_id, currency=currency)


def position_qs_select_for_update(*, user_id: int, instrument_id: int):
    return Position.objects.select_for_update(of=("self",)).filter(user_id=user_id, instrument_id=instrument_id)


def order_qs_select_for_update(*, pk: int):
    # of=("self",): callers join the instrument and user; only the order row is locked
    return Order.objects.select_for_update(of=("self",)).filter(pk=pk)
