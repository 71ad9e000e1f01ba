"""The books under concurrent requests. PostgreSQL only: SQLite has no row locks (its IMMEDIATE
transactions serialize writers instead), so there these tests would prove nothing; CI runs
the suite on PostgreSQL too."""

from decimal import Decimal

import pytest
from django.db import connection

from markets import services as market_services
from tests.accounts.factories import UserFactory
from tests.helpers import run_at_once
from tests.markets.conftest import replay_source
from trading import services
from trading.models import Fill, Order, Position, Wallet
from trading.selectors import ledger_mismatches

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row-lock concurrency needs PostgreSQL (set DATABASE_URL)"
    ),
]


def test_fifty_concurrent_market_buys_costing_five_times_the_cash_fill_only_what_is_affordable(coins):
    user = UserFactory()
    services.account_open(user=user)
    eth = coins["ETH/KRW"]  # last 2,392,000 -> fills at 2,394,000
    # each: 0.42 x 2,394,000 = 1,005,480 + fee 502.74 -> 503 = 1,005,983 KRW; 50 of them = 5.03x the cash
    cost_each = Decimal("1005983")

    results = run_at_once(
        *[lambda: services.order_place(user=user, instrument_id=eth.pk, side="buy", type="market", quantity="0.42")]
        * 50
    )

    filled = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, services.InsufficientFunds)]
    assert len(filled) == 9 and len(refused) == 41, [
        r for r in results if not isinstance(r, tuple | services.InsufficientFunds)
    ]
    wallet = Wallet.objects.get(user=user, currency="KRW")
    assert wallet.cash == Decimal("10000000") - 9 * cost_each >= 0
    assert Position.objects.get(user=user, instrument=eth).quantity == Decimal("0.42") * 9
    assert Order.objects.filter(user=user).count() == 9 and Fill.objects.count() == 9
    assert ledger_mismatches() == []


def test_concurrent_fill_and_cancel_of_one_resting_sell_release_it_exactly_once(coins):
    eth = coins["ETH/KRW"]
    source = replay_source(loop=False)
    batches = []
    import asyncio

    async def take():
        async for batch in source.stream_tickers():
            batches.append(batch)
            if len(batches) == 2:
                return

    asyncio.run(take())
    outcomes = set()
    for _round in range(10):
        user = UserFactory()
        services.order_place(user=user, instrument_id=eth.pk, side="buy", type="market", quantity="0.1")
        market_services.ticker_upsert_many(snapshots=batches[0], source="replay", keep_newer=False)  # back to 2,392,000
        order, _ = services.order_place(
            user=user, instrument_id=eth.pk, side="sell", type="limit", quantity="0.1", limit_price="2394000"
        )
        # the next recorded point (high 2,394,000) crosses the limit; stored without matching
        market_services.ticker_upsert_many(snapshots=batches[1], source="replay", keep_newer=False)

        cancel, match = run_at_once(
            lambda user=user, order=order: services.order_cancel(user=user, order_id=order.pk),
            lambda: services.limit_orders_match(instrument_ids=[eth.pk]),
        )

        order.refresh_from_db()
        position = Position.objects.get(user=user, instrument=eth)
        outcomes.add(order.status)
        assert position.reserved_quantity == 0
        if order.status == "filled":
            assert isinstance(cancel, services.OrderNotOpen) and position.quantity == 0
        else:
            assert order.status == "canceled" and match == 0 and position.quantity == Decimal("0.1")
        assert ledger_mismatches() == []


def test_two_concurrent_cancels_release_once(btc):
    user = UserFactory()
    order, _ = services.order_place(
        user=user, instrument_id=btc.pk, side="buy", type="limit", quantity="0.01", limit_price="90000000"
    )

    results = run_at_once(*[lambda: services.order_cancel(user=user, order_id=order.pk)] * 2)

    assert sorted(type(r).__name__ for r in results) == ["Order", "OrderNotOpen"]
    wallet = Wallet.objects.get(user=user, currency="KRW")
    assert wallet.reserved == 0 and wallet.cash == Decimal("10000000")
    assert ledger_mismatches() == []


def test_concurrent_retries_of_one_client_order_id_place_one_order(btc):
    user = UserFactory()
    services.account_open(user=user)

    results = run_at_once(
        *[
            lambda: services.order_place(
                user=user, instrument_id=btc.pk, side="buy", type="market", quantity="0.01", client_order_id="same"
            )
        ]
        * 10
    )

    assert all(isinstance(r, tuple) for r in results), results
    assert len({order.pk for order, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Fill.objects.count() == 1
    assert ledger_mismatches() == []
