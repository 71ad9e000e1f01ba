"""The exit after N sessions: a buy's lots are sold at their Nth session close by the beat job,
through the order service with ``client_order_id`` ``exit-lot-<id>``.

Real KRX prices (Samsung Electronics 005930 closes, shipped top-50 file) and the XKRX calendar:
Chuseok closed KRX on 2024-09-16..18, so three sessions after a buy on Thursday 2024-09-12 at
10:00 KST end at the close of Thursday 2024-09-19 (09-12, 09-13, 09-19).
"""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.trading.test_lots import CLOSES, _at, _buy, _last
from tradesite.schedule import JOBS
from trading import services
from trading.models import Lot, Order, Position
from trading.selectors import ledger_mismatches

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
ORDERS = "/api/v1/orders/"


def test_three_sessions_across_chuseok_sell_at_the_third_close_once(user, krx):
    samsung = krx["005930"]
    _buy(user, samsung, "2024-09-12", 5, exit_after_sessions=3)
    lot = Lot.objects.get(user=user)
    assert lot.exit_due_at == datetime(2024, 9, 19, 15, 25, tzinfo=SEOUL)
    assert lot.exit_state == "scheduled" and "2024-09-19 15:25" in lot.exit_note

    # the day before, and on the day before its time: nothing is sold
    _last(samsung, CLOSES[datetime(2024, 9, 19).date()])
    assert services.lots_exit_due(now=_at("2024-09-13", 15, 26)) == 0
    assert services.lots_exit_due(now=_at("2024-09-19", 15, 24)) == 0
    assert not Order.objects.filter(side="sell").exists()

    assert services.lots_exit_due(now=_at("2024-09-19", 15, 26)) == 1
    sell = Order.objects.get(side="sell")
    lot.refresh_from_db()
    assert sell.client_order_id == f"exit-lot-{lot.pk}" and sell.status == "filled" and sell.quantity == 5
    assert (lot.remaining, lot.exit_state, lot.exit_order_id) == (0, "done", sell.pk)
    assert Position.objects.get(user=user, instrument=samsung).quantity == 0

    # a rerun (the job again, or the lot put back to scheduled) sells nothing more
    assert services.lots_exit_due(now=_at("2024-09-19", 15, 27)) == 0
    Lot.objects.filter(pk=lot.pk).update(exit_state="scheduled", remaining=5)
    services.lot_exit(lot=Lot.objects.select_related("instrument", "user").get(pk=lot.pk), now=_at("2024-09-20", 10))
    assert Order.objects.filter(side="sell").count() == 1
    assert Lot.objects.get(pk=lot.pk).exit_state == "done"
    Lot.objects.filter(pk=lot.pk).update(remaining=0)
    assert ledger_mismatches() == []


def test_a_closed_market_defers_the_exit_to_the_next_open(user, krx):
    samsung = krx["005930"]
    _buy(user, samsung, "2024-09-12", 2, exit_after_sessions=3)
    lot = Lot.objects.get(user=user)

    # the job did not run before the close; at 16:00 KRX is closed: deferred, stated in the lot
    before = Position.objects.get(user=user, instrument=samsung).quantity
    assert services.lots_exit_due(now=_at("2024-09-19", 16, 0)) == 0
    lot.refresh_from_db()
    assert lot.exit_state == "deferred"
    assert "2024-09-20 09:00 Asia/Seoul" in lot.exit_note
    assert Position.objects.get(user=user, instrument=samsung).quantity == before
    assert not Order.objects.filter(side="sell").exists()

    # still closed overnight: nothing changes; at the next open it sells
    assert services.lots_exit_due(now=_at("2024-09-20", 8, 59)) == 0
    _last(samsung, CLOSES[datetime(2024, 9, 20).date()])
    assert services.lots_exit_due(now=_at("2024-09-20", 9, 1)) == 1
    lot.refresh_from_db()
    assert (lot.remaining, lot.exit_state) == (0, "done")


def test_the_exit_closes_its_own_lot_before_older_ones(user, krx):
    samsung = krx["005930"]
    _buy(user, samsung, "2024-09-10", 4)  # no exit
    _buy(user, samsung, "2024-09-12", 3, exit_after_sessions=1)
    _last(samsung, CLOSES[datetime(2024, 9, 12).date()])
    assert services.lots_exit_due(now=_at("2024-09-12", 15, 26)) == 1
    older, exited = Lot.objects.filter(user=user).order_by("opened_at")
    assert (older.remaining, exited.remaining) == (4, 0)


def test_crypto_exits_at_the_nth_day_boundary(user, btc):
    # Upbit's day starts 09:00 KST: a buy at 10:00 on 06-17, two days -> 09:00 on 06-19
    services.order_place(
        user=user,
        instrument_id=btc.pk,
        side="buy",
        type="market",
        quantity="0.001",
        now=datetime(2025, 6, 17, 10, 0, tzinfo=SEOUL),
        exit_after_sessions=2,
    )
    lot = Lot.objects.get(user=user)
    assert lot.exit_due_at == datetime(2025, 6, 19, 9, 0, tzinfo=SEOUL)
    assert services.lots_exit_due(now=datetime(2025, 6, 19, 8, 59, tzinfo=SEOUL)) == 0
    assert services.lots_exit_due(now=datetime(2025, 6, 19, 9, 0, tzinfo=SEOUL)) == 1
    assert Order.objects.get(side="sell").client_order_id == f"exit-lot-{lot.pk}"


def test_a_lot_sold_by_hand_first_is_skipped(user, krx):
    samsung = krx["005930"]
    _buy(user, samsung, "2024-09-12", 2, exit_after_sessions=2)
    services.order_place(
        user=user, instrument_id=samsung.pk, side="sell", type="market", quantity="2", now=_at("2024-09-13")
    )
    lot = Lot.objects.get(user=user)
    assert lot.exit_state == "skipped"
    assert services.lots_exit_due(now=_at("2024-09-13", 15, 26)) == 0
    assert Order.objects.filter(side="sell").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"exit_after_sessions": 0}, "exit_after_sessions"),
        ({"exit_after_sessions": 61}, "exit_after_sessions"),
        ({"exit_after_sessions": "x"}, "exit_after_sessions"),
        ({"exit_after_sessions": 2, "side": "sell"}, "exit_after_sessions"),
    ],
)
def test_api_refuses_a_bad_exit_naming_the_field(auth_client, user, btc, change, field):
    body = {"instrument": btc.pk, "side": "buy", "type": "market", "quantity": "0.001", **change}
    response = auth_client.post(ORDERS, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Order.objects.exists() and not Lot.objects.exists()


def test_api_buy_with_an_exit_schedules_its_lot(auth_client, user, btc):
    response = auth_client.post(
        ORDERS,
        {"instrument": btc.pk, "side": "buy", "type": "market", "quantity": "0.001", "exit_after_sessions": 5},
        format="json",
    )
    assert response.status_code == 201 and response.json()["exit_after_sessions"] == 5
    lot = Lot.objects.get(user=user)
    assert lot.exit_after_sessions == 5 and lot.exit_state == "scheduled" and lot.exit_due_at is not None
    assert Decimal(lot.cost) > 0


def test_the_exit_job_is_in_the_one_schedule():
    assert any(job.task == "trading.tasks.exit_lots" for job in JOBS)
