"""Issue 12: order numbers are ASCII plain decimals within the stored precision; never rounded,
never a 500. Every refusal is a 400 naming the field and writes nothing."""

from decimal import Decimal

import pytest
from django.db import connection

from core.numbers import parse_plain_decimal
from trading import services
from trading.models import CashEntry, Order, Wallet

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


def _refused(auth_client, body, field):
    before = (Order.objects.count(), CashEntry.objects.count(), list(Wallet.objects.values_list("cash", "reserved")))
    response = auth_client.post(URL, body, format="json")
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert field in response.json()["error"]["fields"]
    assert (
        Order.objects.count(),
        CashEntry.objects.count(),
        list(Wallet.objects.values_list("cash", "reserved")),
    ) == before


@pytest.mark.parametrize(
    "quantity",
    ["1_000", "１０", "0.0_1", "1e-2", "1E1", "NaN", "Infinity", " 0.01", "0.01 ", "+0.01", "0x10", "٠.٠١", True],
)
def test_non_ascii_decimal_quantity_is_refused(auth_client, btc, quantity):
    _refused(auth_client, {"instrument": btc.pk, "side": "buy", "type": "market", "quantity": quantity}, "quantity")


@pytest.mark.parametrize("price", ["9_000_000", "９１０００００0", "9.1e7"])
def test_non_ascii_decimal_limit_price_is_refused(auth_client, btc, price):
    _refused(
        auth_client,
        {"instrument": btc.pk, "side": "buy", "type": "limit", "quantity": "0.01", "limit_price": price},
        "limit_price",
    )


def test_more_decimals_than_stored_is_refused_not_rounded(auth_client, btc):
    _refused(
        auth_client,
        {
            "instrument": btc.pk,
            "side": "buy",
            "type": "limit",
            "quantity": "0.01",
            "limit_price": "50000000.1234567891234",
        },
        "limit_price",
    )


def test_service_refuses_what_the_database_would_round(user, btc):
    """On SQLite 100000000.12345678 was stored as 100000000.123457; on any database more than 12
    decimals do not fit the column."""
    with pytest.raises(services.InvalidOrder) as info:
        services.order_place(
            user=user, instrument_id=btc.pk, side="buy", type="limit", quantity="0.01", limit_price="1.1234567890123"
        )
    assert info.value.field == "limit_price"
    if connection.vendor == "sqlite":
        with pytest.raises(services.InvalidOrder) as info:
            services.order_place(
                user=user,
                instrument_id=btc.pk,
                side="buy",
                type="limit",
                quantity="100000000.12345678",
                limit_price="1",
            )
        assert info.value.field == "quantity"
    assert Order.objects.count() == 0


@pytest.mark.parametrize("quantity", ["10000000000000000000000", "99999999999999999999999"])
def test_a_notional_near_1e28_is_400_not_500(auth_client, btc, quantity):
    _refused(auth_client, {"instrument": btc.pk, "side": "buy", "type": "market", "quantity": quantity}, "quantity")


def test_plain_decimals_still_place_orders(auth_client, btc):
    response = auth_client.post(
        URL, {"instrument": btc.pk, "side": "buy", "type": "market", "quantity": "0.01"}, format="json"
    )
    assert response.status_code == 201, response.content[:300]
    assert Order.objects.get().quantity == Decimal("0.01")
    float_body = auth_client.post(
        URL, {"instrument": btc.pk, "side": "buy", "type": "market", "quantity": 0.02}, format="json"
    )
    assert float_body.status_code == 201, float_body.content[:300]


def test_parse_plain_decimal_bounds():
    assert parse_plain_decimal("0012.500", max_digits=5, decimal_places=2) == Decimal("12.5")
    with pytest.raises(ValueError):
        parse_plain_decimal("1234.5", max_digits=5, decimal_places=2)
    with pytest.raises(ValueError):
        parse_plain_decimal("1.2345678901234567", max_digits=30, decimal_places=18, max_significant=15)
    assert parse_plain_decimal("91337000", max_digits=30, decimal_places=12, max_significant=15) == Decimal(91337000)
