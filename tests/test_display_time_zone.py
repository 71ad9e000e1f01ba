"""Pages and the admin show times in Asia/Seoul with the zone; the API keeps UTC (core/timezones.py)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from markets.models import Instrument, Ticker
from tests.accounts.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def ticker(db):
    instrument = Instrument.objects.create(
        market="KRW", exchange="upbit", symbol="XRP/KRW", base="XRP", quote="KRW", tick_size=Decimal("1")
    )
    # 08:15 UTC is 17:15 in Seoul
    return Ticker.objects.create(
        instrument=instrument,
        last_price=Decimal("1596"),
        traded_value_24h=Decimal("1000"),
        time=datetime(2026, 6, 28, 8, 15, tzinfo=UTC),
    )


def test_the_admin_changelist_shows_the_time_in_seoul_with_its_zone(staff_client, ticker):
    html = staff_client.get("/admin/markets/ticker/").content.decode()

    assert "2026-06-28 17:15:00 KST" in html
    assert "08:15:00" not in html


def test_the_admin_change_form_edits_the_time_in_seoul(staff_client, ticker):
    html = staff_client.get(f"/admin/markets/ticker/{ticker.instrument_id}/change/").content.decode()

    assert 'value="17:15:00"' in html or "17:15:00 KST" in html


def test_the_api_keeps_utc(client, ticker):
    body = client.get("/api/v1/tickers/?top=5").json()

    times = [row["time"] for row in body["results"]] if "results" in body else [row["time"] for row in body]
    assert times and all(t.endswith("Z") or t.endswith("+00:00") for t in times)
