"""Charts agree with the board in the demo: no candle after the clock, the forming one as walked."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from markets import services
from markets.clock import demo_clock_from_settings, demo_clock_install
from markets.feed import store_batch
from markets.models import Instrument
from markets.sources.clock import DemoClock
from tests.markets.test_demo_clock import FakeWall, clocked_source

DATA = settings.MARKETS["DATA_DIR"]
UPBIT_15M = DATA / "coins_intraday" / "upbit_KRW_15min_BTC_DOGE_ETH_XRP_2025-05-19_2025-06-15.csv.gz"
UPBIT_1D = DATA / "coins_daily" / "upbit_KRW_daily_10coins_2024-09-26_2025-09-27.csv.gz"


def clock_at(moment: datetime) -> DemoClock:
    """The settings' demo window on a clock that stands (almost) still at ``moment`` now, so
    the test does not race the replay."""
    conf = demo_clock_from_settings(wall_start=timezone.now())
    speed = 0.001
    offset = (moment - conf.start).total_seconds() / speed
    return DemoClock(start=conf.start, end=conf.end, speed=speed, wall_start=timezone.now() - timedelta(seconds=offset))


@pytest.fixture
def demo_btc(db):
    call_command("import_candles", "--format", "upbit_csv", str(UPBIT_15M), "--interval", "15m", verbosity=0)
    call_command("import_candles", "--format", "upbit_csv", str(UPBIT_1D), "--interval", "1d", verbosity=0)
    moment = datetime(2025, 5, 27, 3, 20, tzinfo=UTC)  # 12:20 KST: 15m candle 03:15 UTC is forming
    clock = clock_at(moment)
    demo_clock_install(clock=clock)
    wall = FakeWall(timezone.now())
    source = clocked_source("upbit_15m_4coins", clock, wall)
    services.instrument_upsert_many(infos=source.instruments())

    async def first():
        async for batch in source.stream_tickers():
            return batch

    batch = asyncio.run(first())
    store_batch(batch=batch, source="replay")
    return clock, next(t for t in batch if t.symbol == "BTC/KRW")


@pytest.mark.parametrize("interval", ["15m", "1d"])
def test_the_chart_api_returns_no_candle_after_the_clock_and_ends_at_the_boards_price(demo_btc, api_client, interval):
    clock, shown = demo_btc
    btc = Instrument.objects.get(exchange="upbit", symbol="BTC/KRW")
    body = api_client.get(f"/api/v1/instruments/{btc.pk}/candles/", {"interval": interval, "limit": 1000}).json()
    now = datetime.fromisoformat(body["now"])
    assert abs((now - clock.now(timezone.now())).total_seconds()) < 1  # the clock's present
    opens = [datetime.fromisoformat(c["open_time"]) for c in body["results"]]
    assert opens and max(opens) <= now
    assert body["intervals"] == ["15m", "1d"]  # what the chart offers for this coin
    last = body["results"][-1]
    assert Decimal(last["close"]) == shown.last_price  # the forming candle closes at the board's price
    assert Decimal(last["low"]) <= shown.last_price <= Decimal(last["high"])
    if interval == "1d":
        assert opens[-1] == datetime(2025, 5, 27, 0, 0, tzinfo=UTC)  # the replay day, after its history
        assert opens[-2] == datetime(2025, 5, 26, 0, 0, tzinfo=UTC)


def test_without_a_clock_the_chart_api_is_unchanged(db, api_client):
    call_command("import_candles", "--format", "upbit_csv", str(UPBIT_1D), "--interval", "1d", verbosity=0)
    btc = Instrument.objects.get(exchange="upbit", symbol="BTC/KRW")
    body = api_client.get(f"/api/v1/instruments/{btc.pk}/candles/", {"interval": "1d", "limit": 5000}).json()
    assert body["now"] is None and body["count"] == 367
