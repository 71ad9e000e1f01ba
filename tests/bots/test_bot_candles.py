"""The bots' daily candles are refreshed from the exchange (recorded real Bithumb responses)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses
from django.conf import settings
from django.core.management import call_command

from bots import services as bot_services
from markets.models import Candle, Instrument
from markets.sources import CcxtSource
from tests.markets.test_sources import BITHUMB, BITHUMB_LEGACY, add_legacy_markets, load_json

pytestmark = pytest.mark.django_db


def test_refresh_stores_the_recent_daily_candles_of_the_bots_instruments(user):
    payload = load_json("bithumb/z3rosmith_mocks/public_candlestick_BTC_KRW_24h.json")  # skips without ../shared
    call_command(
        "import_instruments",
        "--format",
        "bithumb_ticker",
        str(settings.MARKETS["DATA_DIR"] / "bithumb" / "public_ticker_ALL_KRW.json"),
        verbosity=0,
    )
    btc = Instrument.objects.get(exchange="bithumb", symbol="BTC/KRW")
    bot_services.bot_create(user=user, instrument_id=btc.pk)
    now = datetime(2022, 3, 4, 3, 0, tzinfo=UTC)  # 12:00 KST, the recording's last day
    since_ms = int(datetime(2022, 3, 1, 3, 0, tzinfo=UTC).timestamp() * 1000)
    # the file's rows: [open_time_ms, open, close, high, low, volume]
    expected = {row[0]: row for row in payload["data"] if row[0] >= since_ms}

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        add_legacy_markets(rs)
        rs.add(responses.GET, f"{BITHUMB}/public/candlestick/BTC_KRW/24h", json=payload)
        written = bot_services.bots_refresh_candles(
            now=now, source_for=lambda exchange: CcxtSource(exchange, config=BITHUMB_LEGACY, sleep=lambda s: None)
        )

    candles = {int(c.open_time.timestamp() * 1000): c for c in Candle.objects.filter(instrument=btc, interval="1d")}
    assert written == len(expected) == len(candles) == 3
    for open_ms, row in expected.items():
        candle = candles[open_ms]
        assert (candle.open, candle.close, candle.high, candle.low) == tuple(Decimal(str(x)) for x in row[1:5])
