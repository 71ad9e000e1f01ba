"""Orders through the API and the services, on real recorded prices.

Expected figures are worked by hand from the recorded prices and the default settings
(slippage 5 bps; fees: Upbit 5 bps, KRX 1.5 bps; KRX sell tax 20 bps; KRW in whole won,
costs rounded up and proceeds down).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from markets.models import Ticker
from tests.accounts.factories import UserFactory
from tests.trading.conftest import KRX_AFTER_CLOSE, KRX_OPEN, next_point
from trading import services
from trading.models import CashEntry, Fill, Order, Position, Wallet
from trading.selectors import ledger_mismatches

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def _krw(user) -> Wallet:
    services.account_open(user=user)
    return Wallet.objects.get(user=user, currency="KRW")


def _books(user):
    """Everything an order could change, to assert that a rejected one changed nothing."""
    wallet = _krw(user)
    return (
        wallet.cash,
        wallet.reserved,
        CashEntry.objects.filter(wallet__user=user).count(),
        Order.objects.filter(user=user).count(),
        Fill.objects.filter(order__user=user).count(),
        list(Position.objects.filter(user=user).values_list("instrument_id", "quantity", "reserved_quantity")),
    )


def _post(client, **data):
    return client.post(ORDERS, data, format="json")


def test_new_account_gets_starting_cash_as_deposit_entries(user):
    wallets = {w.currency: w for w in services.account_open(user=user)}
    services.account_open(user=user)  # idempotent

    assert wallets["KRW"].cash == Decimal("10000000") and wallets["USDT"].cash == Decimal("10000")
    assert list(CashEntry.objects.filter(wallet__user=user).values_list("kind", flat=True)) == ["deposit", "deposit"]
    assert ledger_mismatches() == []


def test_market_buy_fills_at_last_price_plus_slippage_on_the_tick_with_fee(auth_client, user, btc):
    response = _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")

    assert response.status_code == 201, response.json()
    order = response.json()
    # 91,291,000 x 1.0005 = 91,336,645.5 -> up to the 1,000-won tick
    assert order["status"] == "filled" and order["average_fill_price"] == "91337000"
    fill = Fill.objects.get(order_id=order["id"])
    assert fill.price == Decimal("91337000") and fill.fee == Decimal("457")  # 913,370 x 5 bps = 456.685 -> 457
    assert _krw(user).cash == Decimal("9086173")  # 10,000,000 - 913,370 - 457
    position = Position.objects.get(user=user, instrument=btc)
    assert position.quantity == Decimal("0.01")
    assert position.average_entry_price == Decimal("91382700")  # (913,370 + 457) / 0.01: cost basis with fee
    assert ledger_mismatches() == []


def test_market_sell_realizes_pnl_net_of_fees(auth_client, user, btc):
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")

    response = _post(auth_client, instrument=btc.pk, side="sell", type="market", quantity="0.01")

    assert response.status_code == 201
    fill = Fill.objects.get(order_id=response.json()["id"])
    # 91,291,000 x 0.9995 = 91,245,354.5 -> down to 91,245,000; proceeds 912,450; fee 456.225 -> 457
    assert (fill.price, fill.fee, fill.tax) == (Decimal("91245000"), Decimal("457"), Decimal("0"))
    assert fill.realized_pnl == Decimal("-1834")  # 912,450 - 457 - 913,827
    assert _krw(user).cash == Decimal("9998166")  # 10,000,000 - 1,834
    position = Position.objects.get(user=user, instrument=btc)
    assert position.quantity == 0 and position.realized_pnl == Decimal("-1834")
    assert ledger_mismatches() == []


def test_krx_round_trip_pays_commission_and_the_sell_tax(user, krx):
    samsung = krx["005930"]  # last 71,200 (close of 2023-12-05)

    buy, _ = services.order_place(
        user=user, instrument_id=samsung.pk, side="buy", type="market", quantity="10", now=KRX_OPEN
    )
    sell, _ = services.order_place(
        user=user, instrument_id=samsung.pk, side="sell", type="market", quantity="10", now=KRX_OPEN
    )

    buy_fill, sell_fill = buy.fills.get(), sell.fills.get()
    # 71,200 x 1.0005 = 71,235.6 -> 71,300 (100-won tick); fee 71.3 x 1.5 = 106.95 -> 107
    assert (buy_fill.price, buy_fill.fee) == (Decimal("71300"), Decimal("107"))
    # 71,200 x 0.9995 = 71,164.4 -> 71,100; fee 106.65 -> 107; tax 711,000 x 20 bps = 1,422
    assert (sell_fill.price, sell_fill.fee, sell_fill.tax) == (Decimal("71100"), Decimal("107"), Decimal("1422"))
    assert sell_fill.realized_pnl == Decimal("-3636")
    assert _krw(user).cash == Decimal("9996364")
    assert CashEntry.objects.filter(wallet__user=user, kind="tax").get().amount == Decimal("-1422")


def test_krx_market_order_outside_the_session_is_rejected_and_changes_nothing(user, krx):
    before = _books(user)

    with pytest.raises(services.MarketClosed):
        services.order_place(
            user=user, instrument_id=krx["005930"].pk, side="buy", type="market", quantity="1", now=KRX_AFTER_CLOSE
        )

    assert _books(user) == before


def test_market_buy_above_available_cash_is_rejected_and_changes_nothing(auth_client, user, btc):
    before = _books(user)

    response = _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.2")  # ~18.3M KRW

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "insufficient_funds" and "quantity" in error["fields"]
    assert _books(user) == before


def test_selling_more_than_held_is_rejected_and_changes_nothing(auth_client, user, btc):
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")
    before = _books(user)

    response = _post(auth_client, instrument=btc.pk, side="sell", type="market", quantity="0.02")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "insufficient_position"
    assert "quantity" in response.json()["error"]["fields"]
    assert _books(user) == before


@pytest.mark.parametrize(
    "data, field",
    [
        ({"instrument": 999999, "side": "buy", "type": "market", "quantity": "1"}, "instrument"),
        ({"side": "buy", "type": "market", "quantity": "1"}, "instrument"),
        ({"side": "hold", "type": "market", "quantity": "1"}, "side"),
        ({"side": "buy", "type": "stop", "quantity": "1"}, "type"),
        ({"side": "buy", "type": "market", "quantity": "abc"}, "quantity"),
        ({"side": "buy", "type": "market", "quantity": "0"}, "quantity"),
        ({"side": "buy", "type": "market", "quantity": "-0.01"}, "quantity"),
        ({"side": "buy", "type": "market", "quantity": "0.000000001"}, "quantity"),  # below the 1e-8 lot
        ({"side": "buy", "type": "market", "quantity": "0.00005"}, "quantity"),  # 4,566 KRW < 5,000 minimum
        ({"side": "buy", "type": "market", "quantity": "0.01", "limit_price": "91000000"}, "limit_price"),
        ({"side": "buy", "type": "limit", "quantity": "0.01"}, "limit_price"),
        (
            {"side": "buy", "type": "limit", "quantity": "0.01", "limit_price": "91290500"},
            "limit_price",
        ),  # off the 1,000 tick
        ({"side": "buy", "type": "limit", "quantity": "0.01", "limit_price": "-5"}, "limit_price"),
        (
            {"side": "buy", "type": "limit", "quantity": "0.01", "limit_price": "90000000", "time_in_force": "FOK"},
            "time_in_force",
        ),
    ],
)
def test_bad_order_input_is_400_naming_the_field_and_changes_nothing(auth_client, user, btc, data, field):
    data = {"instrument": btc.pk, **data} if "instrument" not in data and field != "instrument" else data
    before = _books(user)

    response = _post(auth_client, **data)

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert _books(user) == before


def test_krx_fractional_shares_are_rejected(user, krx):
    with pytest.raises(services.InvalidOrder) as error:
        services.order_place(
            user=user, instrument_id=krx["005930"].pk, side="buy", type="market", quantity="1.5", now=KRX_OPEN
        )

    assert error.value.field == "quantity"
    assert not Order.objects.exists()


def test_market_order_on_a_stale_price_is_rejected(auth_client, user, btc):
    Ticker.objects.filter(instrument=btc).update(updated_at=timezone.now() - timedelta(seconds=61))
    before = _books(user)

    response = _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "price_unavailable"
    assert _books(user) == before


def test_retried_post_with_the_same_client_order_id_places_once(auth_client, user, btc):
    first = _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01", client_order_id="retry-1")
    second = _post(
        auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01", client_order_id="retry-1"
    )

    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert Order.objects.filter(user=user).count() == 1 and Fill.objects.count() == 1
    assert _krw(user).cash == Decimal("9086173")


def test_limit_buy_reserves_cash_and_fills_at_its_limit_when_the_price_crosses(auth_client, user, coins):
    eth = coins["ETH/KRW"]  # last 2,392,000; the recorded candle then walks high 2,394,000, low 2,386,000

    response = _post(auth_client, instrument=eth.pk, side="buy", type="limit", quantity="0.1", limit_price="2387000")
    order_id = response.json()["id"]
    wallet = _krw(user)
    assert response.status_code == 201 and response.json()["status"] == "new"
    assert wallet.reserved == Decimal("238820")  # 238,700 + fee 119.35 -> 120
    assert wallet.cash == Decimal("10000000")

    next_point(steps=1)  # 2,394,000: no cross
    assert Order.objects.get(pk=order_id).status == "new"
    next_point(steps=2)  # 2,386,000 <= 2,387,000: fills at the limit

    order = Order.objects.get(pk=order_id)
    wallet = _krw(user)
    assert order.status == "filled" and order.average_fill_price == Decimal("2387000")
    assert wallet.reserved == 0 and wallet.cash == Decimal("9761180")
    assert ledger_mismatches() == []


def test_limit_sell_reserves_quantity_and_fills_when_the_price_reaches_it(auth_client, user, coins):
    eth = coins["ETH/KRW"]
    _post(auth_client, instrument=eth.pk, side="buy", type="market", quantity="0.1")

    response = _post(auth_client, instrument=eth.pk, side="sell", type="limit", quantity="0.1", limit_price="2394000")
    position = Position.objects.get(user=user, instrument=eth)
    assert response.json()["status"] == "new" and position.reserved_quantity == Decimal("0.1")
    second = _post(auth_client, instrument=eth.pk, side="sell", type="market", quantity="0.1")
    assert second.status_code == 400 and second.json()["error"]["code"] == "insufficient_position"

    next_point(steps=1)  # the recorded high 2,394,000 reaches the limit

    order = Order.objects.get(pk=response.json()["id"])
    position.refresh_from_db()
    assert order.status == "filled" and order.fills.get().price == Decimal("2394000")
    assert position.quantity == 0 and position.reserved_quantity == 0
    assert ledger_mismatches() == []


def test_marketable_limit_buy_fills_at_once_no_worse_than_its_limit(auth_client, user, btc):
    response = _post(auth_client, instrument=btc.pk, side="buy", type="limit", quantity="0.01", limit_price="91300000")

    assert response.json()["status"] == "filled"
    assert Decimal(response.json()["average_fill_price"]) == Decimal(
        "91300000"
    )  # slipped 91,337,000 capped at the limit
    assert _krw(user).reserved == 0


def test_ioc_limit_that_does_not_cross_is_canceled_holding_nothing(auth_client, user, btc):
    response = _post(
        auth_client,
        instrument=btc.pk,
        side="buy",
        type="limit",
        quantity="0.01",
        limit_price="90000000",
        time_in_force="IOC",
    )

    assert response.json()["status"] == "canceled"
    assert _krw(user).reserved == 0 and not Fill.objects.exists()


def test_cancel_releases_the_reservation_once(auth_client, user, btc):
    order_id = _post(
        auth_client, instrument=btc.pk, side="buy", type="limit", quantity="0.01", limit_price="90000000"
    ).json()["id"]
    assert _krw(user).reserved == Decimal("900450")  # 900,000 + 450

    first = auth_client.post(f"{ORDERS}{order_id}/cancel/")
    second = auth_client.post(f"{ORDERS}{order_id}/cancel/")

    assert first.status_code == 200 and first.json()["status"] == "canceled"
    assert second.status_code == 409 and second.json()["error"]["code"] == "order_not_open"
    assert _krw(user).reserved == 0 and _krw(user).cash == Decimal("10000000")
    assert ledger_mismatches() == []


def test_day_order_expires_at_the_crypto_day_end_and_releases_its_reservation(user, btc):
    order, _ = services.order_place(
        user=user,
        instrument_id=btc.pk,
        side="buy",
        type="limit",
        quantity="0.01",
        limit_price="90000000",
        time_in_force="DAY",
    )
    assert order.expires_at > timezone.now()

    assert services.orders_expire(now=order.expires_at - timedelta(seconds=1)) == 0
    assert services.orders_expire(now=order.expires_at) == 1

    order.refresh_from_db()
    assert order.status == "expired" and _krw(user).reserved == 0


def test_users_see_only_their_own_orders_fills_and_positions(auth_client, user, api_client, btc):
    other = UserFactory()
    theirs, _ = services.order_place(user=other, instrument_id=btc.pk, side="buy", type="market", quantity="0.01")
    mine = _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01").json()

    assert [o["id"] for o in auth_client.get(ORDERS).json()["results"]] == [mine["id"]]
    assert auth_client.get(f"{ORDERS}{theirs.pk}/").status_code == 404
    assert auth_client.post(f"{ORDERS}{theirs.pk}/cancel/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "filled" and Fill.objects.filter(order=theirs).count() == 1
    assert [f["order"] for f in auth_client.get("/api/v1/fills/").json()["results"]] == [mine["id"]]
    assert len(auth_client.get("/api/v1/positions/").json()["results"]) == 1
    assert api_client.get(ORDERS).status_code == 401
    assert api_client.post(ORDERS, {}, format="json").status_code == 401


def test_order_filters_by_side_status_and_instrument(auth_client, user, coins):
    btc, eth = coins["BTC/KRW"], coins["ETH/KRW"]
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")
    _post(auth_client, instrument=eth.pk, side="buy", type="limit", quantity="0.1", limit_price="2000000")

    assert auth_client.get(ORDERS, {"status": "new"}).json()["count"] == 1
    assert auth_client.get(ORDERS, {"instrument": btc.pk}).json()["count"] == 1
    assert auth_client.get(ORDERS, {"side": "sell"}).json()["count"] == 0
    assert auth_client.get(ORDERS, {"status": "bogus"}).status_code == 400
    assert auth_client.get("/api/v1/fills/", {"instrument": eth.pk}).json()["count"] == 0


def test_portfolio_marks_positions_at_the_latest_price(auth_client, user, btc):
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")
    next_point(steps=1)  # BTC walks to the recorded high 91,346,000

    body = auth_client.get("/api/v1/portfolio/").json()

    (row,) = body["positions"]
    assert Decimal(row["last_price"]) == Decimal("91346000")
    assert Decimal(row["market_value"]) == Decimal("913460")
    assert Decimal(row["unrealized_pnl"]) == Decimal("-367")  # 913,460 - 913,827
    krw = next(t for t in body["totals"] if t["currency"] == "KRW")
    assert Decimal(krw["equity"]) == Decimal("9999633")  # 9,086,173 + 913,460
    assert Decimal(krw["return_on_contributions"]) == Decimal("-0.0000367")


def test_a_credit_counts_as_paid_in_not_as_return(auth_client, user):
    services.wallet_credit(
        user=user, currency="KRW", amount=Decimal("30000"), kind=CashEntry.Kind.QUIZ_REWARD, reference="attempt 1"
    )

    krw = next(t for t in auth_client.get("/api/v1/portfolio/").json()["totals"] if t["currency"] == "KRW")

    assert Decimal(krw["cash"]) == Decimal("10030000") and Decimal(krw["contributions"]) == Decimal("10030000")
    assert Decimal(krw["return_on_contributions"]) == 0
    assert ledger_mismatches() == []


def test_account_reset_restores_starting_cash_and_keeps_history(auth_client, user, coins):
    btc, eth = coins["BTC/KRW"], coins["ETH/KRW"]
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")
    _post(auth_client, instrument=eth.pk, side="buy", type="limit", quantity="0.1", limit_price="2000000")

    response = auth_client.post("/api/v1/account/reset/")

    assert response.status_code == 200
    krw = next(w for w in response.json()["wallets"] if w["currency"] == "KRW")
    assert Decimal(krw["cash"]) == Decimal("10000000") and Decimal(krw["reserved"]) == 0
    assert not Position.objects.filter(user=user, quantity__gt=0).exists()
    assert not Order.objects.filter(user=user, status="new").exists()
    assert Fill.objects.filter(order__user=user).count() == 1  # history kept
    assert ledger_mismatches() == []


def test_account_shows_cash_reserved_available_and_equity(auth_client, user, btc):
    _post(auth_client, instrument=btc.pk, side="buy", type="limit", quantity="0.01", limit_price="90000000")

    wallets = {w["currency"]: w for w in auth_client.get("/api/v1/account/").json()["wallets"]}

    assert wallets["KRW"] == {
        "currency": "KRW",
        "cash": "10000000",
        "reserved": "900450",
        "available": "9099550",
        "equity": "10000000",
    }
    assert wallets["USDT"]["cash"] == "10000"


def test_check_ledgers_passes_on_good_books_and_fails_on_a_tampered_wallet(auth_client, user, btc):
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")
    call_command("check_ledgers")

    Wallet.objects.filter(user=user, currency="KRW").update(cash=Decimal("9999999"))

    with pytest.raises(SystemExit) as exit_:
        call_command("check_ledgers")
    assert exit_.value.code == 1
    assert any("ledger sum" in line for line in ledger_mismatches())


def test_equity_snapshot_records_each_users_equity_once_per_day(auth_client, user, btc):
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")

    services.equity_snapshot_all()
    services.equity_snapshot_all()

    rows = auth_client.get("/api/v1/portfolio/history/").json()
    # cash 9,086,173 + 0.01 BTC marked at the last 91,291,000
    assert [(r["currency"], r["equity"]) for r in rows] == [("KRW", "9999083"), ("USDT", "10000")]


def test_database_refuses_negative_cash_even_without_the_services(user):
    from django.db import IntegrityError, transaction

    wallet = _krw(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(cash=Decimal("-1"))


def test_open_filter_lists_new_and_partially_filled_orders(auth_client, user, btc):
    resting = _post(
        auth_client, instrument=btc.pk, side="buy", type="limit", quantity="0.01", limit_price="90000000"
    ).json()
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01")

    open_ids = [o["id"] for o in auth_client.get(ORDERS, {"open": "true"}).json()["results"]]
    closed = auth_client.get(ORDERS, {"open": "false"}).json()["results"]

    assert open_ids == [resting["id"]]
    assert [o["status"] for o in closed] == ["filled"] and closed[0]["quote"] == "KRW"


def test_rejection_messages_show_plain_amounts(auth_client, user, btc):
    response = _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.2")

    assert (
        response.json()["error"]["message"]
        == "Needs 18,276,534 KRW (cost 18,267,400 + fee 9,134); 10,000,000 available."
    )


def test_a_client_order_id_reused_for_another_order_is_refused(auth_client, user, btc):
    _post(auth_client, instrument=btc.pk, side="buy", type="market", quantity="0.01", client_order_id="k-1")
    before = _books(user)

    response = _post(auth_client, instrument=btc.pk, side="sell", type="market", quantity="0.01", client_order_id="k-1")

    assert response.status_code == 409
    assert (
        response.json()["error"]["code"] == "client_order_id_reused"
        and "client_order_id" in response.json()["error"]["fields"]
    )
    assert _books(user) == before


def test_an_absurdly_large_quantity_is_a_400_not_a_crash(auth_client, user, btc):
    before = _books(user)

    response = _post(auth_client, instrument=btc.pk, side="buy", type="limit", quantity="1e20", limit_price="91000000")

    assert response.status_code == 400 and "quantity" in response.json()["error"]["fields"]
    assert _books(user) == before


def test_matching_after_a_feed_batch_is_one_query_when_nothing_crosses(coins, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert services.limit_orders_match(instrument_ids=[i.pk for i in coins.values()]) == 0
