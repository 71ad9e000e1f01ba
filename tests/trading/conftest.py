from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from markets import services as market_services
from markets.feed import store_batch
from markets.models import Instrument
from markets.sources.replay import ReplaySource
from tests.markets.conftest import replay_board, replay_source  # noqa: F401  (replay_board is a fixture)

SEOUL = ZoneInfo("Asia/Seoul")
# a KRX trading day (Tuesday) inside and outside the regular session
KRX_OPEN = datetime(2025, 6, 17, 10, 0, tzinfo=SEOUL)
KRX_AFTER_CLOSE = datetime(2025, 6, 17, 15, 31, tzinfo=SEOUL)


@pytest.fixture
def coins(replay_board):
    """The 20 Upbit KRW coins with tickers at the replay's first real point
    (BTC/KRW last 91,291,000; ETH/KRW 2,392,000)."""
    return {i.symbol: i for i in Instrument.objects.filter(exchange="upbit")}


@pytest.fixture
def btc(coins):
    return coins["BTC/KRW"]


@pytest.fixture
def krx(db):
    """KRX instruments with tickers at the first session (2023-12-05 closes) of the shipped
    top-50 daily file (Samsung Electronics 005930 closed at 71,200)."""
    source = ReplaySource("krx_daily", data_dir=settings.MARKETS["DATA_DIR"] / "krx_daily", loop=False)
    market_services.instrument_upsert_many(infos=source.instruments())
    store_batch(batch=source.tickers(), source="replay")
    return {i.symbol: i for i in Instrument.objects.filter(exchange="krx")}


def next_point(source=None, steps=1):
    """Advance the board replay by ``steps`` recorded points through the feed's store step
    (which also runs the tick handlers: limit-order matching)."""
    import asyncio

    source = source or replay_source(loop=False)
    batches = []

    async def take():
        async for batch in source.stream_tickers():
            batches.append(batch)
            if len(batches) == steps + 1:
                return

    asyncio.run(take())
    for batch in batches[1:]:
        store_batch(batch=batch, source="replay")
    return batches
