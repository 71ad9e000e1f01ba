"""The demo market on its clock: every starting balance trades, KRX fills at the shown price."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from markets import services
from markets.clock import demo_clock_from_settings, demo_clock_install
from markets.feed import store_batch
from markets.models import Instrument
from markets.payloads import ticker_payloads
from markets.selectors import ticker_for_instruments
from markets.sources.clock import DemoClock
from tests.markets.test_demo_clock import FakeWall, clocked_source
from trading import rules
from trading.models import Order
from trading.services import order_place

WALL = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SLIPPAGE = settings.TRADING["SLIPPAGE_BPS"]


def first_batches(dataset: str, wall_at: datetime, n: int = 1):
    clock = demo_clock_from_settings(wall_start=WALL)
    wall = FakeWall(wall_at)
    source = clocked_source(dataset, clock, wall)
    services.instrument_upsert_many(infos=source.instruments())

    async def run():
        out = []
        async for batch in source.stream_tickers():
            out.append((wall(), batch))
            if len(out) >= n:
                return out
        return out

    return clock, source, asyncio.run(run())


@pytest.mark.django_db
def test_a_usdt_market_order_fills_on_the_demo_clock(user):
    # given the demo clock and the Binance USDT replay's batch at its present
    clock, _, [(_, batch)] = first_batches("binance_usdt_1h", WALL + timedelta(minutes=30))
    demo_clock_install(clock=clock)
    store_batch(batch=batch, source="replay")
    ada = next(t for t in batch if t.symbol == "ADA/USDT")
    instrument = Instrument.objects.get(exchange="binance", symbol="ADA/USDT")
    # when the user spends part of the 10,000 USDT of a new account
    order, created = order_place(user=user, instrument_id=instrument.pk, side="buy", type="market", quantity="100")
    # then it fills at the replayed price plus the stated slippage
    assert created and order.status == Order.Status.FILLED
    expected = rules.market_fill_price(
        last=ada.last_price,
        side="buy",
        slippage_bps=SLIPPAGE,
        tick=rules.tick_size(
            exchange="binance", quote="USDT", price=ada.last_price, instrument_tick=instrument.tick_size
        ),
    )
    assert order.average_fill_price == expected


@pytest.mark.django_db
def test_a_replayed_ticker_is_fresh_and_a_never_replayed_one_says_so(user):
    _, _, [(_, batch)] = first_batches("binance_usdt_1h", WALL)
    store_batch(batch=batch, source="replay")
    [payload] = ticker_payloads(
        ticker_for_instruments(instrument_ids=[Instrument.objects.get(exchange="binance", symbol="XRP/USDT").pk])
    )
    assert payload["fresh"] is True


@pytest.mark.django_db
def test_a_krx_order_fills_at_the_price_the_ticket_showed_plus_slippage(user):
    # given the demo clock at 10:00 KST of a session (60x) now, and the KRX replay on it
    conf = demo_clock_from_settings(wall_start=WALL)
    target = datetime(2025, 5, 27, 1, 0, tzinfo=UTC)  # 10:00 KST, Tuesday
    real_now = timezone.now()
    clock = DemoClock(
        start=conf.start,
        end=conf.end,
        speed=conf.speed,
        wall_start=real_now - timedelta(seconds=(target - conf.start).total_seconds() / conf.speed),
    )
    demo_clock_install(clock=clock)
    wall = FakeWall(real_now)
    source = clocked_source("krx_daily", clock, wall)
    services.instrument_upsert_many(infos=source.instruments())
    batches = []

    async def run():
        async for batch in source.stream_tickers():
            batches.append((wall(), batch))
            if len(batches) >= 3:
                return

    asyncio.run(run())
    shown = next(t for t in batches[0][1] if t.symbol == "005930")
    # when the ticket showed the first batch and the order arrives after two more (40 s later)
    for _, batch in batches:
        store_batch(batch=batch, source="replay")
    assert (batches[-1][0] - batches[0][0]).total_seconds() >= 30
    instrument = Instrument.objects.get(exchange="krx", symbol="005930")
    assert instrument.ticker.last_price == shown.last_price
    order, _ = order_place(user=user, instrument_id=instrument.pk, side="buy", type="market", quantity="1")
    # then it filled at the shown price plus the slippage, rounded to the KRX tick
    tick = rules.tick_size(exchange="krx", quote="KRW", price=shown.last_price, instrument_tick=instrument.tick_size)
    assert order.status == Order.Status.FILLED
    assert order.average_fill_price == rules.market_fill_price(
        last=shown.last_price, side="buy", slippage_bps=SLIPPAGE, tick=tick
    )


SLICES = {
    "coins_intraday/upbit_KRW_15min_BTC_DOGE_ETH_XRP_2025-05-19_2025-06-15.csv.gz": (
        "coins_intraday/upbit_KRW_15min_ADA_BTC_DOGE_ETH_XRP_2023-12-29_2025-09-29.csv.gz"
    ),
    "coins_intraday/binance_spot_USDT_1h_17coins_2025-05-19_2025-06-15.csv.gz": (
        "coins_intraday/binance_spot_USDT_1h_17coins_2025-01-01_2026-01-06.csv.gz"
    ),
    "coins_intraday/binance_spot_USDT_4h_BTC_ETH_2025-05-19_2025-06-15.csv.gz": (
        "coins_intraday/binance_spot_USDT_4h_BTC_ETH_2025-01-01_2026-01-06.csv.gz"
    ),
    "coins_daily/binance_spot_USDT_daily_19coins_2024-06-16_2025-06-15.csv.gz": (
        "coins_daily/binance_spot_USDT_daily_21coins_2017-08_2026-01-06.csv.gz"
    ),
}


@pytest.mark.parametrize("shipped", sorted(SLICES))
def test_the_demo_slices_are_rows_of_the_recorded_files_unchanged(shipped):
    import pandas as pd

    source = settings.MARKETS["SHARED_DATA_DIR"] / SLICES[shipped]
    if not source.exists():
        pytest.skip(f"{source} absent (../shared/data is not beside the repo)")
    mine = pd.read_csv(settings.MARKETS["DATA_DIR"] / shipped, dtype=str, keep_default_na=False)
    full = pd.read_csv(source, dtype=str, keep_default_na=False)
    assert list(mine.columns) == list(full.columns)
    joined = mine.merge(full, how="left", on=list(full.columns), indicator=True)
    assert len(joined) == len(mine) and (joined["_merge"] == "both").all()
