"""The demo board: every KRW coin with a recording on the demo clock's window is on it (BTC,
DOGE, ETH, XRP 15-min; SOL 60-min, its 15-min file being absent), its heading counts the rows
shown, and a 24 h value the recording lacks is "—" with the reason, never estimated."""

import gzip
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from markets.models import Exchange, Instrument, Market, Ticker
from markets.replay_files import replay_data_dir
from tests.markets.test_demo_clock import WALL, FakeWall, clocked_source, settings_clock, take

pytestmark = pytest.mark.django_db


@pytest.mark.asyncio
async def test_sol_follows_the_clock_with_its_recorded_hourly_prices():
    clock = settings_clock()
    wall = FakeWall(WALL + timedelta(minutes=30))  # 30 recorded hours in
    source = clocked_source("upbit_60m_sol", clock, wall)
    assert source.covers(clock.start, clock.end)
    [batch] = await take(source, 1)
    [snap] = batch
    now = clock.now(wall.now - timedelta(seconds=0))
    assert snap.symbol == "SOL/KRW" and snap.time <= now < snap.time + timedelta(minutes=15)
    # the price is one of the recorded hour's open/high/low/close, read from the file's text
    hour = snap.time.replace(minute=0) + timedelta(hours=9)
    path = replay_data_dir("upbit_60m_sol") / "upbit_KRW_60min_SOL_2025-05-19_2025-06-15.csv.gz"
    with gzip.open(path, "rt") as fh:
        row = next(line for line in fh if f",{hour:%Y-%m-%d %H}:00:00," in line).strip().split(",")
    assert snap.last_price in {Decimal(v) for v in row[2:6]} and snap.traded_value_24h is None


def test_the_demo_replays_every_krw_coin_recorded_on_the_window():
    datasets = settings.MARKETS["DEMO_CLOCK"]["DATASETS"]
    assert "upbit_15m_4coins" in datasets and "upbit_60m_sol" in datasets


def ticker(symbol, value):
    base = symbol.split("/")[0]
    instrument, _ = Instrument.objects.get_or_create(
        exchange=Exchange.UPBIT, symbol=symbol, defaults={"market": Market.CRYPTO, "base": base, "quote": "KRW"}
    )
    Ticker.objects.update_or_create(
        instrument=instrument,
        defaults={"last_price": Decimal(1), "traded_value_24h": value, "source": "replay", "time": timezone.now()},
    )


def heading(client):
    html = client.get(reverse("board")).content.decode()
    return re.search(r'<h1 id="board-heading">(.*?)</h1>', html).group(1), html


def test_the_heading_counts_the_rows_and_says_when_no_value_was_recorded(client):
    for symbol in ("BTC/KRW", "ETH/KRW", "SOL/KRW"):
        ticker(symbol, None)
    text, html = heading(client)
    assert text.endswith("3 KRW coins (no traded value recorded)") and "Top 20" not in text
    note = re.search(r'<p id="board-value-note"[^>]*>', html).group(0)
    assert "hidden" not in note and "never estimated" in html
    ticker("BTC/KRW", Decimal("123456789"))
    text, html = heading(client)
    assert text.endswith("Top 3 by 24h traded value")
    assert "hidden" not in re.search(r'<p id="board-value-note"[^>]*>', html).group(0)  # two still lack one
