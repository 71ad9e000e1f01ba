"""Row locks of the books, always taken in one written order:

    1. the client's own row, when one drives the change (a bot: ``bots.locks``; a quiz attempt)
    2. the wallet
    3. positions, by pk
    4. orders, by pk

Every service that reads a balance and then changes it takes its locks through these helpers
inside ``transaction.atomic``, so two requests for the same user queue instead of both spending
the same cash, and two services never wait on each other in a cycle.

Each lock is ``FOR NO KEY UPDATE OF <this table>`` (``of=("self",)``, ``no_key=True``):
- ``of=("self",)``: a caller may ``select_related`` the instrument or the user, but only the row
  itself is locked. A plain ``select_for_update()`` with a join locks the joined rows too, which
  made a bot check (bot, instrument, user, then wallet) and a resting-order fill (wallet, position,
  then order, instrument, user) wait on each other, and every order on that instrument wait on
  one bot check.
- ``no_key=True``: inserting a fill or a ledger entry that references a locked order or wallet
  does not wait (PostgreSQL's ``FOR KEY SHARE`` of a foreign-key check conflicts only with
  ``FOR UPDATE``).
- several rows of one kind are locked ``order_by("pk")``.

SQLite has no row locks (its IMMEDIATE transactions serialize writers) and ignores all this.
"""

from django.db.models import QuerySet

from trading.models import Order, Position, Wallet


def wallet_qs_select_for_update(*, user_id: int, currency: str) -> QuerySet[Wallet]:
    return Wallet.objects.select_for_update(of=("self",), no_key=True).filter(user_id=user_id, currency=currency)


def wallets_qs_select_for_update(*, user_id: int) -> QuerySet[Wallet]:
    return Wallet.objects.select_for_update(of=("self",), no_key=True).filter(user_id=user_id).order_by("pk")


def position_qs_select_for_update(*, user_id: int, instrument_id: int) -> QuerySet[Position]:
    return Position.objects.select_for_update(of=("self",), no_key=True).filter(
        user_id=user_id, instrument_id=instrument_id
    )


def positions_qs_select_for_update(*, user_id: int) -> QuerySet[Position]:
    return Position.objects.select_for_update(of=("self",), no_key=True).filter(user_id=user_id).order_by("pk")


def order_qs_select_for_update(*, pk: int) -> QuerySet[Order]:
    return Order.objects.select_for_update(of=("self",), no_key=True).filter(pk=pk)


def open_orders_qs_select_for_update(*, user_id: int) -> QuerySet[Order]:
    return (
        Order.objects.select_for_update(of=("self",), no_key=True)
        .filter(user_id=user_id, status__in=Order.OPEN_STATUSES)
        .order_by("pk")
    )
