"""The ``kis`` source through the ticker feed: ticks stored, tickers published, a KRX paper limit
order filled from a KIS execution; the plan built from the imported masters and users' stocks.

The fake KIS server is tests/kis/fake_kis.py; frames and masters are the recorded ones of
../shared/data/kis (unlicensed: skips when absent). KRX stock instruments come from the shipped
KRX daily replay file.
"""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from markets import selectors, services
from markets.feed import run_feed, store_batch
from markets.kis_realtime import build_source, current_plan, store_ticks
from markets.models import Instrument, Tick, Ticker
from markets.sources.base import TickerSnapshot
from markets.sources.replay import ReplaySource
from tests.accounts.factories import UserFactory
from tests.kis.fake_kis import FakeKis, next_port, until
from tests.kis.test_ws import kis_file, lines
from trading.models import Order
from trading.services import order_place

SEOUL = ZoneInfo("Asia/Seoul")


def krx_stocks():
    source = ReplaySource("krx_daily", data_dir=settings.MARKETS["DATA_DIR"] / "krx_daily", loop=False)
    services.instrument_upsert_many(infos=source.instruments())
    return Instrument.objects.get(exchange="krx", symbol="005930")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_krx_paper_limit_order_fills_from_a_kis_tick_through_the_feed():
    frame = lines("raw_frames_stock.txt")[0]  # 005930 at 62,700 on 2023-03-24 11:26:16 KST, 125 shares
    kis_file("spec/kis_realtime_fields.json")
    samsung = await sync_to_async(krx_stocks)()
    user = await sync_to_async(UserFactory)()
    crossing, _ = await sync_to_async(order_place)(
        user=user, instrument_id=samsung.id, side="buy", type="limit", quantity="1", limit_price="63000"
    )
    below, _ = await sync_to_async(order_place)(
        user=user, instrument_id=samsung.id, side="buy", type="limit", quantity="1", limit_price="62000"
    )
    assert crossing.status == below.status == "new"  # no price yet: both rest

    fake = await FakeKis(next_port()).start()

    async def planner(last_prices):
        return [("H0STCNT0", "005930")]

    source = build_source(url=fake.url, approval_key=lambda: "approval-test", planner=planner, batch_seconds=0.05)
    feed = asyncio.create_task(run_feed(source, max_batches=1))
    try:
        await until(lambda: fake.held and fake.held[0] == {("H0STCNT0", "005930")})
        await fake.push(frame)
        assert await asyncio.wait_for(feed, 10) == 1
    finally:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        await fake.stop()

    crossing = await Order.objects.aget(pk=crossing.pk)
    below = await Order.objects.aget(pk=below.pk)
    assert crossing.status == "filled" and crossing.average_fill_price == Decimal("63000")
    assert below.status == "new" and below.filled_quantity == 0
    ticker = await Ticker.objects.aget(instrument=samsung)
    assert (ticker.last_price, ticker.source) == (Decimal("62700"), "kis")
    assert ticker.traded_value_24h == Decimal("607878273600")
    tick = await Tick.objects.aget(instrument=samsung)
    assert (tick.kind, tick.price, tick.size, tick.side, tick.source) == ("trade", 62700, 125, "buy", "kis")
    assert tick.session_date == date(2023, 3, 24)
    assert tick.exchange_time == datetime(2023, 3, 24, 11, 26, 16, tzinfo=SEOUL)
    assert tick.extra["BSOP_DATE"] == "20230324"


@pytest.mark.django_db
def test_ticks_of_a_batch_stored_once_and_unknown_codes_dropped():
    from markets.sources.kis.frames import FrameParser, load_spec
    from markets.sources.kis.source import frame_ticks

    krx_stocks()
    parser = FrameParser(load_spec(kis_file("spec/kis_realtime_fields.json")))
    frame = parser.parse("0|H0STCNT0|002|" + "^".join(line.split("|", 3)[3] for line in lines("raw_frames_stock.txt")))
    numbers = iter(range(10, 20))
    ticks = [
        t for t, _ in frame_ticks(frame, datetime(2026, 7, 24, 3, 0, tzinfo=UTC).timestamp(), lambda: next(numbers))
    ]
    unknown = ticks[0].__class__(**{**ticks[0].__dict__, "symbol": "999999", "sequence": 99})
    assert store_ticks([*ticks, unknown]) == 2
    assert store_ticks(ticks) == 0  # the same records again change nothing
    assert sorted(Tick.objects.values_list("price", flat=True)) == [Decimal("62700"), Decimal("250500")]


@pytest.mark.django_db
def test_krx_derivatives_never_top_the_krw_board():
    samsung = krx_stocks()
    call_command("import_instruments", "--format", "kis_fo_master", str(kis_file("masterfiles/fo_idx_code_mts.csv")))
    when = datetime(2025, 7, 18, 5, 3, 36, tzinfo=UTC)
    # the recorded 2025-07-18 14:03:36 KST front future: 430.65, acml_tr_pbmn 15,826,067,213 thousand KRW
    future = TickerSnapshot(
        "krx", "101W09", Decimal("430.65"), Decimal("-1.15"), None, None, Decimal("15826067213000"), when
    )
    stock = TickerSnapshot("krx", "005930", Decimal("62700"), None, None, None, Decimal("607878273600"), when)
    store_batch(batch=[future, stock], source="kis")
    board = list(selectors.ticker_top(limit=20))
    assert [t.instrument.symbol for t in board] == [samsung.symbol]
    assert Ticker.objects.filter(instrument__symbol="101W09").exists()  # stored, only not on the board


@pytest.mark.django_db
def test_plan_from_the_masters_the_clock_and_users_stocks():
    samsung = krx_stocks()
    call_command("import_instruments", "--format", "kis_fo_master", str(kis_file("masterfiles/fo_idx_code_mts.csv")))
    user = UserFactory()
    order_place(user=user, instrument_id=samsung.id, side="buy", type="limit", quantity="1", limit_price="60000")

    day = current_plan({"101W09": Decimal("430.65")}, now=datetime(2025, 7, 18, 14, 3, 37, tzinfo=SEOUL))
    regs = list(day.registrations)
    assert day.session == "day" and day.atm == Decimal("430.0")
    assert regs[:2] == [("H0IFCNT0", "101W09"), ("H0IFASP0", "101W09")]  # F 202509, the front future
    options = [key for tr, key in regs if tr == "H0IOCNT0"]
    names = dict(Instrument.objects.filter(symbol__in=options).values_list("symbol", "name_ko"))
    assert len(options) == 22 and all(names[o].split()[1] == "202508" for o in options)  # the front monthly
    strikes = sorted(Instrument.objects.filter(symbol__in=options).values_list("strike", flat=True))
    assert strikes[0] == Decimal("417.5") and strikes[-1] == Decimal("442.5")
    assert regs[-1] == ("H0STCNT0", "005930") and len(regs) == 25

    night = current_plan({"101W09": Decimal("344.20")}, now=datetime(2025, 7, 14, 18, 43, tzinfo=SEOUL))
    assert night.session == "night" and night.atm == Decimal("345.0")
    assert {tr for tr, _ in night.registrations} == {"H0MFCNT0", "H0MFASP0", "H0EUCNT0"}  # no stocks at night

    closed = current_plan({}, now=datetime(2025, 7, 19, 12, 0, tzinfo=SEOUL))  # Saturday noon
    assert closed.session == "closed" and closed.registrations == ()
    # without a heard price the stored ticker of the front future centres the options
    store_batch(
        batch=[
            TickerSnapshot(
                "krx", "101W09", Decimal("432.60"), None, None, None, None, datetime.now(UTC) - timedelta(seconds=1)
            )
        ],
        source="kis",
    )
    assert current_plan({}, now=datetime(2025, 7, 18, 14, 5, tzinfo=SEOUL)).atm == Decimal("432.5")


def test_stream_tickers_kis_names_a_missing_approval_key_function():
    kis_file("spec/kis_realtime_fields.json")
    broken = {**settings.KIS_REALTIME, "APPROVAL_KEY_FUNCTION": "tests.kis.no_such_module.get_approval_key"}
    with override_settings(KIS_REALTIME=broken), pytest.raises(CommandError, match="no_such_module"):
        call_command("stream_tickers", "--source", "kis", "--batches", "1")


@pytest.mark.django_db(transaction=True)
def test_stream_tickers_source_kis_end_to_end(capsys):
    """The command as an operator runs it, against the fake server: the first recorded stock
    execution becomes the ticker and a tick."""
    import threading
    import time as wall

    from tests.kis.fake_kis import ThreadedFakeKis

    frame = lines("raw_frames_stock.txt")[1]  # 005930 at 250,500 on 2026-07-24 11:52:14 KST
    kis_file("spec/kis_realtime_fields.json")
    samsung = krx_stocks()
    served = ThreadedFakeKis(next_port())
    with served as fake:
        config = {
            **settings.KIS_REALTIME,
            "WS_URL": fake.url,
            "APPROVAL_KEY_FUNCTION": "tests.kis.fake_kis.approval_key",
            "BATCH_SECONDS": 0.05,
        }
        done = threading.Event()

        def push_when_connected():
            deadline = wall.monotonic() + 10
            while not fake.sockets and wall.monotonic() < deadline:
                wall.sleep(0.01)
            while not done.is_set() and wall.monotonic() < deadline:
                served.push(frame)  # the plan at this clock may hold nothing: frames come anyway
                wall.sleep(0.1)

        pusher = threading.Thread(target=push_when_connected, daemon=True)
        with override_settings(KIS_REALTIME=config):
            pusher.start()
            try:
                call_command("stream_tickers", "--source", "kis", "--batches", "1")
            finally:
                done.set()
                pusher.join(5)
    assert "1 batches published" in capsys.readouterr().out
    ticker = Ticker.objects.get(instrument=samsung)
    assert (ticker.last_price, ticker.source) == (Decimal("250500"), "kis")
    assert Tick.objects.filter(instrument=samsung, kind="trade", price=Decimal("250500")).exists()
