"""SQL statements per order: the write path stays small (issue 18: an order in at most 8).

Counted with Django's ``CaptureQueriesContext`` on the service, for a market buy into an
existing position, a market sell, and a market buy opening a new position, on the real
recorded Upbit board (BTC/KRW).
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import UserFactory
from trading import services
from trading.models import Position
from trading.selectors import ledger_mismatches

pytestmark = pytest.mark.django_db(transaction=True)

MAX_STATEMENTS = 8
# issue 15: lots. A buy inserts its lot (+1); a sell reads the open lots and closes them first-in
# first-out in one bulk update (+2). The books' own statements stay at 8.
LOT_BUY_STATEMENTS, LOT_SELL_STATEMENTS = 1, 2


@pytest.fixture(autouse=True)
def _no_account_event_hooks(settings):
    # the account-event hooks (the user's opted-in notifications) run after the commit, outside
    # the order's statements counted here
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ON_ACCOUNT_EVENT": []}


def _count(**kwargs) -> list[str]:
    """The statements of one ``order_place``, without the transaction's own BEGIN / COMMIT
    (SQLite logs them, PostgreSQL's driver does not)."""
    with CaptureQueriesContext(connection) as queries:
        services.order_place(**kwargs)
    return [q["sql"] for q in queries.captured_queries if q["sql"].split()[0].upper() not in ("BEGIN", "COMMIT")]


def test_market_orders_take_at_most_eight_statements(btc):
    user = UserFactory()
    services.account_open(user=user)
    services.order_place(user=user, instrument_id=btc.pk, side="buy", type="market", quantity="0.001")

    buy = _count(user=user, instrument_id=btc.pk, side="buy", type="market", quantity="0.001")
    sell = _count(user=user, instrument_id=btc.pk, side="sell", type="market", quantity="0.001")

    assert len(buy) <= MAX_STATEMENTS + LOT_BUY_STATEMENTS, "\n".join(buy)
    assert len(sell) <= MAX_STATEMENTS + LOT_SELL_STATEMENTS, "\n".join(sell)
    assert sum('"trading_lot"' in q for q in buy) == LOT_BUY_STATEMENTS
    assert sum('"trading_lot"' in q for q in sell) == LOT_SELL_STATEMENTS
    assert Position.objects.get(user=user, instrument=btc).quantity == Decimal("0.001")
    assert ledger_mismatches() == []


def test_first_order_opening_a_position_stays_bounded(btc):
    user = UserFactory()
    services.account_open(user=user)

    first = _count(user=user, instrument_id=btc.pk, side="buy", type="market", quantity="0.001")

    assert len(first) <= MAX_STATEMENTS + LOT_BUY_STATEMENTS + 3, "\n".join(
        first
    )  # + the position's insert (in a savepoint)
    assert Position.objects.get(user=user, instrument=btc).quantity > 0
    assert ledger_mismatches() == []
