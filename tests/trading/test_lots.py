"""Lots: each buy fill opens one, sells close them first-in first-out with realized P&L per lot.

Prices are real KRX rows: Samsung Electronics (005930) daily closes from the shipped top-50 file
(``markets/data/krx_daily``), set as the last price at 10:00 Asia/Seoul of each session. The
expected figures are worked here from those closes and the default costs (slippage 5 bps on the
KRX tick, fee 1.5 bps rounded up, sell tax 20 bps rounded up, proceeds rounded down), with
integer arithmetic independent of the service.
"""

import csv
import gzip
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command

from markets.models import Ticker
from tests.accounts.factories import UserFactory
from trading import services
from trading.models import Fill, Lot, Position
from trading.selectors import ledger_mismatches, lot_views

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
TOP50 = Path(settings.MARKETS["DATA_DIR"]) / "krx_daily" / "krx_daily_ohlcv_top50.csv.gz"
LOTS = "/api/v1/lots/"


def _closes(code: str) -> dict[date, Decimal]:
    with gzip.open(TOP50, "rt", encoding="utf-8") as handle:
        return {date.fromisoformat(r["date"]): Decimal(r["close"]) for r in csv.DictReader(handle) if r["code"] == code}


CLOSES = _closes("005930")


def _at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=SEOUL).replace(
        hour=hour, minute=minute
    )


def _last(instrument, price: Decimal) -> None:
    Ticker.objects.filter(instrument=instrument).update(last_price=price)


def _krx_tick(price: Decimal) -> Decimal:
    for upper, tick in [(2000, 1), (5000, 5), (20000, 10), (50000, 50), (200000, 100), (500000, 500)]:
        if price < upper:
            return Decimal(tick)
    return Decimal(1000)


def _buy_price(last: Decimal) -> Decimal:
    tick = _krx_tick(last)
    return (last * Decimal("1.0005") / tick).to_integral_value(rounding=ROUND_CEILING) * tick


def _sell_price(last: Decimal) -> Decimal:
    tick = _krx_tick(last)
    return (last * Decimal("0.9995") / tick).to_integral_value(rounding=ROUND_FLOOR) * tick


def _up(x: Decimal) -> Decimal:
    return x.to_integral_value(rounding=ROUND_CEILING)


def _buy(user, instrument, day: str, quantity: int, **kwargs):
    _last(instrument, CLOSES[date.fromisoformat(day)])
    order, _ = services.order_place(
        user=user,
        instrument_id=instrument.pk,
        side="buy",
        type="market",
        quantity=str(quantity),
        now=_at(day),
        **kwargs,
    )
    return order


def _sell(user, instrument, day: str, quantity: int):
    _last(instrument, CLOSES[date.fromisoformat(day)])
    order, _ = services.order_place(
        user=user, instrument_id=instrument.pk, side="sell", type="market", quantity=str(quantity), now=_at(day)
    )
    return order


def test_fifo_lots_to_the_won_on_real_krx_closes(user, krx):
    samsung = krx["005930"]
    days = ["2024-09-10", "2024-09-11", "2024-09-12"]
    sizes = [10, 7, 5]
    for day, size in zip(days, sizes, strict=True):
        _buy(user, samsung, day, size)

    lots = list(Lot.objects.filter(user=user).order_by("opened_at"))
    expected_costs = []
    for lot, day, size in zip(lots, days, sizes, strict=True):
        price = _buy_price(CLOSES[date.fromisoformat(day)])
        cost = price * size + _up(price * size * Decimal("0.00015"))
        expected_costs.append(cost)
        assert (lot.day, lot.quantity, lot.remaining) == (date.fromisoformat(day), size, size)
        assert lot.cost == lot.remaining_cost == cost  # price with the fee
        assert abs(lot.price - cost / size) < Decimal("0.000001")  # SQLite keeps 15 significant digits

    # sell 13 on 09-13: closes lot 1 (10) and 3 of lot 2 (7), first-in first-out
    sell_day = "2024-09-13"
    _sell(user, samsung, sell_day, 13)
    price = _sell_price(CLOSES[date.fromisoformat(sell_day)])
    proceeds = price * 13
    net = proceeds - _up(proceeds * Decimal("0.00015")) - _up(proceeds * Decimal("0.002"))
    share_1 = (net * 10 / 13).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    share_2 = net - share_1
    cost_2_part = (expected_costs[1] * 3 / 7).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)

    first, second, third = (Lot.objects.get(pk=lot.pk) for lot in lots)
    assert (first.remaining, first.remaining_cost, first.realized_pnl) == (0, 0, share_1 - expected_costs[0])
    assert first.closed_at is not None
    assert (second.remaining, second.remaining_cost) == (4, expected_costs[1] - cost_2_part)
    assert second.realized_pnl == share_2 - cost_2_part and second.closed_at is None
    assert (third.remaining, third.realized_pnl) == (5, 0)
    # the shares of the sale add up to its net proceeds, to the won
    fill = Fill.objects.filter(order__side="sell").get()
    assert first.realized_pnl + second.realized_pnl + cost_2_part + expected_costs[0] == net
    assert fill.fee + fill.tax == proceeds - net

    # positions stay the aggregate (average cost)
    position = Position.objects.get(user=user, instrument=samsung)
    assert position.quantity == sum(lot.remaining for lot in (first, second, third)) == 9
    assert abs(position.average_entry_price - sum(expected_costs) / 22) < Decimal("0.000001")

    # the rest: 9 on 09-19, the last part of lot 2 takes its whole remaining cost
    _sell(user, samsung, "2024-09-19", 9)
    second, third = Lot.objects.get(pk=second.pk), Lot.objects.get(pk=third.pk)
    assert second.remaining == third.remaining == 0 and second.remaining_cost == third.remaining_cost == 0
    total_realized = sum(lot.realized_pnl for lot in Lot.objects.filter(user=user))
    # FIFO over the whole round trip = everything received - everything paid
    sells = Fill.objects.filter(order__side="sell")
    received = sum(f.price * f.quantity - f.fee - f.tax for f in sells)
    assert total_realized == received - sum(expected_costs)
    assert ledger_mismatches() == []


def test_a_partial_close_inside_one_lot_then_the_rest(user, krx):
    samsung = krx["005930"]
    _buy(user, samsung, "2024-09-10", 3)
    lot = Lot.objects.get(user=user)
    _sell(user, samsung, "2024-09-11", 1)
    lot.refresh_from_db()
    third = (lot.cost / 3).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    assert (lot.remaining, lot.remaining_cost) == (2, lot.cost - third)
    _sell(user, samsung, "2024-09-12", 2)
    lot.refresh_from_db()
    assert (lot.remaining, lot.remaining_cost) == (0, 0)
    received = sum(f.price * f.quantity - f.fee - f.tax for f in Fill.objects.filter(order__side="sell"))
    assert lot.realized_pnl == received - lot.cost


def test_crypto_lot_day_follows_the_exchange_day_boundary(user, btc):
    # Upbit's day starts 09:00 KST: 08:59 belongs to the day before
    order, _ = services.order_place(
        user=user, instrument_id=btc.pk, side="buy", type="market", quantity="0.001", now=_at("2025-06-17", 8, 59)
    )
    lot = Lot.objects.get(user=user)
    fill = order.fills.get()
    assert lot.day == date(2025, 6, 16)
    assert lot.cost == fill.price * fill.quantity + fill.fee  # whole won: 0.001 BTC costs whole won here
    assert lot.fill == fill


def test_lots_api_lists_own_open_lots_with_five_session_closes(auth_client, user, krx):
    call_command("import_candles", "--format", "krx_daily", str(TOP50), verbosity=0)
    samsung = krx["005930"]
    _buy(user, samsung, "2024-09-12", 4)  # Thursday before Chuseok (09-16..18 closed)
    other = UserFactory()
    _buy(other, samsung, "2024-09-12", 1)
    _buy(user, samsung, "2024-09-13", 2)
    _sell(user, samsung, "2024-09-13", 2)  # closes 2 of the first lot

    body = auth_client.get(LOTS, {"open": "true"}).json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first["lot"]["remaining"] == "2" and first["lot"]["symbol"] == "005930"
    # the closes after a buy at 10:00 on 09-12: 09-12, 09-13, 09-19, 09-20, 09-23 (no Chuseok)
    assert [c["day"] for c in first["closes"]] == ["2024-09-12", "2024-09-13", "2024-09-19", "2024-09-20", "2024-09-23"]
    cost = Decimal(first["lot"]["cost"])
    for row in first["closes"]:
        close = CLOSES[date.fromisoformat(row["day"])]
        assert Decimal(row["close"]) == close
        assert Decimal(row["pnl"]) == close * 4 - cost
    assert first["holding_sessions"] > 5  # held until today
    # another user's lot is not listed and is a 404
    others = Lot.objects.get(user=other)
    assert auth_client.get(f"{LOTS}{others.pk}/").status_code == 404
    assert all(r["lot"]["id"] != others.pk for r in body["results"])


def test_lots_api_sessions_held_stop_at_the_close(auth_client, user, krx):
    samsung = krx["005930"]
    _buy(user, samsung, "2024-09-12", 1)
    _sell(user, samsung, "2024-09-20", 1)
    lot = Lot.objects.get(user=user)
    # closes in (09-12 10:00, 09-20 10:00]: 09-12, 09-13, 09-19
    assert lot_views([lot])[0].holding_sessions == 3
    body = auth_client.get(LOTS, {"open": "false"}).json()
    assert body["count"] == 1 and body["results"][0]["holding_sessions"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"open": "maybe"}, "open"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"instrument": "0"}, "instrument"),
    ],
)
def test_lots_api_refuses_bad_parameters_naming_them(auth_client, params, field):
    response = auth_client.get(LOTS, params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_lots_api_needs_authentication(api_client):
    assert api_client.get(LOTS).status_code == 401


def test_rebuild_lots_writes_what_the_order_path_wrote(user, krx):
    samsung = krx["005930"]
    for day, size in [("2024-09-10", 10), ("2024-09-11", 7)]:
        _buy(user, samsung, day, size)
    _sell(user, samsung, "2024-09-13", 13)
    fields = ("fill_id", "quantity", "remaining", "cost", "remaining_cost", "realized_pnl", "day")
    before = list(Lot.objects.order_by("fill_id").values_list(*fields))
    for lot in Lot.objects.all():  # the fills' times as the simulated clock had them
        Fill.objects.filter(pk=lot.fill_id).update(created_at=lot.opened_at)
    Fill.objects.filter(order__side="sell").update(created_at=_at("2024-09-13"))
    Lot.objects.all().delete()

    call_command("rebuild_lots", verbosity=0)

    assert list(Lot.objects.order_by("fill_id").values_list(*fields)) == before


def test_account_reset_closes_the_lots(user, krx):
    samsung = krx["005930"]
    _buy(user, samsung, "2024-09-10", 2)
    services.account_reset(user=user)
    lot = Lot.objects.get(user=user)
    assert lot.remaining == 0 and lot.closed_at is not None
    assert ledger_mismatches() == []
