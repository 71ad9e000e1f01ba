"""The tick store (``markets.services.tick_insert_many``): one multi-row INSERT ... ON CONFLICT
DO NOTHING per batch, counted by the database's row count. The tick values are made up for
the test (storage behaviour only); they are not market data."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from markets.models import Instrument, Tick
from markets.services import tick_insert_many

pytestmark = pytest.mark.django_db(transaction=False)
SESSION = date(2025, 7, 18)
T0 = datetime(2025, 7, 18, 5, 3, 37, tzinfo=UTC)


@pytest.fixture
def future():
    return Instrument.objects.create(
        market="krx_derivatives", exchange="krx", symbol="101W09", base="101W09", quote="KRW", kind="future"
    )


def trade(instrument, sequence, *, price="432.45", size="2", second=0, **extra):
    return Tick(
        instrument=instrument,
        kind="trade",
        session_date=SESSION,
        sequence=sequence,
        exchange_time=T0 + timedelta(seconds=second),
        received_time=T0 + timedelta(seconds=second, milliseconds=40),
        price=Decimal(price),
        size=Decimal(size),
        source="kis",
        extra={"tr_id": "H0IFCNT0", **extra},
    )


def test_insert_then_reinsert_changes_nothing(future):
    ticks = [trade(future, n, second=n // 3) for n in range(1, 5001)]
    assert tick_insert_many(ticks=ticks, batch_size=700) == 5000
    assert Tick.objects.count() == 5000
    again = [trade(future, n, price="1", second=n // 3) for n in range(1, 5001)]
    assert tick_insert_many(ticks=again) == 0
    assert Tick.objects.count() == 5000
    assert not Tick.objects.filter(price=Decimal("1")).exists()  # the stored rows kept their values


def test_mixed_batch_counts_only_new_rows(future):
    tick_insert_many(ticks=[trade(future, n) for n in (1, 2, 3)])
    assert tick_insert_many(ticks=[trade(future, n) for n in (2, 3, 4, 5)]) == 2
    assert sorted(Tick.objects.values_list("sequence", flat=True)) == [1, 2, 3, 4, 5]


def test_identical_records_in_one_second_stay_distinct(future):
    assert tick_insert_many(ticks=[trade(future, 7), trade(future, 8)]) == 2
    assert Tick.objects.filter(exchange_time=T0, price=Decimal("432.45")).count() == 2


def test_fields_round_trip(future):
    quote = Tick(
        instrument=future,
        kind="quote",
        session_date=SESSION,
        sequence=1,
        exchange_time=T0,
        received_time=T0,
        bid=Decimal("432.40"),
        ask=Decimal("432.45"),
        bid_size=Decimal("11"),
        ask_size=Decimal("9"),
        source="kis",
        extra={"askp_csnu1": "3", "name": "선물"},
    )
    tick_insert_many(ticks=[trade(future, 1, side="buy", futs_prdy_vrss="-1.00"), quote])
    stored = Tick.objects.get(kind="trade")
    assert (stored.price, stored.size, stored.exchange_time) == (Decimal("432.45"), Decimal("2"), T0)
    assert stored.extra == {"tr_id": "H0IFCNT0", "side": "buy", "futs_prdy_vrss": "-1.00"}
    q = Tick.objects.get(kind="quote")
    assert (q.bid, q.ask, q.bid_size, q.ask_size, q.price) == (
        Decimal("432.40"),
        Decimal("432.45"),
        Decimal("11"),
        Decimal("9"),
        None,
    )
    assert q.extra == {"askp_csnu1": "3", "name": "선물"}


def test_a_bad_tick_writes_nothing_of_the_batch(future):
    bad = trade(future, 3)
    bad.price = Decimal("0")  # breaks tick_trade_has_price_size (price > 0)
    with pytest.raises(DatabaseError), transaction.atomic():
        tick_insert_many(ticks=[trade(future, 1), trade(future, 2), bad])
    assert Tick.objects.count() == 0


def test_empty_is_zero(future):
    assert tick_insert_many(ticks=[]) == 0
