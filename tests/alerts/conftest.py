import csv
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from markets.models import Instrument
from tests.markets.conftest import replay_board  # noqa: F401  (a fixture)

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def btc(replay_board):
    """BTC/KRW on Upbit with its ticker at the replay's first real point."""
    return Instrument.objects.get(exchange="upbit", symbol="BTC/KRW")


@pytest.fixture
def btc_series():
    """[(aware datetime, Decimal-able str close)] of KRW-BTC from the Upbit 15-min replay CSV."""
    path = settings.MARKETS["DATA_DIR"] / "coins_intraday" / "upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv"
    with open(path) as fh:
        return [
            (datetime.fromisoformat(r["candle_open_kst"]).replace(tzinfo=SEOUL), r["close"])
            for r in csv.DictReader(fh)
            if r["market"] == "KRW-BTC"
        ]
