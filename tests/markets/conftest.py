from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

DATA_DIR = Path(settings.MARKETS["DATA_DIR"])
UPBIT_DAILY_10 = DATA_DIR / "coins_daily" / "upbit_KRW_daily_10coins_2024-09-26_2025-09-27.csv.gz"
UPBIT_TOP20_15M = DATA_DIR / "coins_intraday" / "upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv"


@pytest.fixture
def upbit_daily(db):
    """The shipped real Upbit KRW daily candles of 10 coins (2024-09-26 .. 2025-09-27)."""
    call_command("import_candles", "--format", "upbit_csv", str(UPBIT_DAILY_10), "--interval", "1d", verbosity=0)


@pytest.fixture
def upbit_intraday(db):
    """The shipped real Upbit 15-minute candles of the 20-coin board window."""
    call_command("import_candles", "--format", "upbit_csv", str(UPBIT_TOP20_15M), "--interval", "15m", verbosity=0)


async def _no_sleep(_seconds):
    return None


def replay_source(**kwargs):
    """The 20-coin Upbit board replay over the shipped real 15-minute candles, not sleeping."""
    from markets.sources.replay import ReplaySource

    return ReplaySource("upbit_top20", data_dir=UPBIT_TOP20_15M.parent, sleep=_no_sleep, **kwargs)


@pytest.fixture
def replay_board(db):
    """Instruments of the board replay and their tickers at its first recorded point."""
    from markets import services
    from markets.feed import store_batch

    source = replay_source(loop=False)
    services.instrument_upsert_many(infos=source.instruments())
    store_batch(batch=source.tickers(), source="replay")
    return source
