"""Decimals in the admin without padding or exponent (core.admin.plain_decimal, PlainDecimalAdmin)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.admin import plain_decimal
from markets.models import Candle, Instrument, Ticker
from tests.accounts.factories import UserFactory


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0E-12"), "0"),
        (Decimal("0.000120000000"), "0.00012"),
        (Decimal("10000000.000000000000"), "10,000,000"),
        (Decimal("1E+2"), "100"),
        (Decimal("-1234.500000000000"), "-1,234.5"),
        (None, None),
    ],
)
def test_plain_decimal_writes_the_number_in_full_without_padding(value, expected):
    assert plain_decimal(value) == expected


def test_plain_decimal_without_grouping_is_a_valid_input_value():
    assert plain_decimal(Decimal("91291000.000000000000"), grouping=False) == "91291000"


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def instrument(db):
    return Instrument.objects.create(
        market="KRW", exchange="upbit", symbol="DOGE/KRW", base="DOGE", quote="KRW", tick_size=Decimal("0.1")
    )


def test_the_candle_changelist_shows_decimals_without_padding_or_exponent(staff_client, instrument):
    Candle.objects.create(
        instrument=instrument,
        interval="1d",
        open_time=datetime(2025, 9, 1, tzinfo=UTC),
        open=Decimal("0.00012"),
        high=Decimal("1234567.5"),
        low=Decimal("0E-12"),
        close=Decimal("0.00012"),
        volume=Decimal("42"),
    )

    html = staff_client.get("/admin/markets/candle/").content.decode()

    assert "0.00012" in html
    assert "1,234,567.5" in html
    assert "0.000120000000" not in html
    assert "0E-12" not in html
    assert "1234567.500000000000" not in html
    assert 'class="sortable column-open"' in html  # the column still sorts by the field


def test_the_ticker_change_form_fills_inputs_without_padding(staff_client, instrument):
    Ticker.objects.create(
        instrument=instrument, last_price=Decimal("0.00012"), change=Decimal("0E-12"), time=datetime.now(UTC)
    )

    html = staff_client.get(f"/admin/markets/ticker/{instrument.pk}/change/").content.decode()
    listing = staff_client.get("/admin/markets/ticker/").content.decode()

    assert 'value="0.00012"' in html
    assert 'value="0"' in html
    assert "0E-12" not in html and "0.000120000000" not in html
    assert "0.00012" in listing and "0.000120000000" not in listing
