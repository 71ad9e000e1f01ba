"""1-minute candles built from the recorded KIS executions (../shared/data/kis; unlicensed, skips
when absent): by ``import_kis_recording`` and by the live feed's tick sink, equal to an
aggregation of the recording's rows written here independently (sqlite3 + the spec's columns)."""

import json
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from markets.models import Candle, Instrument, Tick
from markets.services import minute_bars
from tests.kis.conftest import DAY, NIGHT
from tests.kis.test_frames import kis_file

pytestmark = pytest.mark.django_db
KST = timezone(timedelta(hours=9))


def independent_bars(recording: str) -> dict[str, dict[datetime, tuple]]:
    """{symbol: {open_time UTC: (open, high, low, close, volume)}} straight from the file: every
    *CNT0 table, rows in (bsop_hour, id) order, the price and size found by the spec's column
    positions (the wire order the recording kept)."""
    spec = json.loads(kis_file("spec/kis_realtime_fields.json").read_text())["tr_ids"]
    path = kis_file(recording)
    day = datetime.strptime(path.name.split("_")[1], "%Y%m%d").date()
    con = sqlite3.connect(path)
    out: dict[str, dict[datetime, list]] = defaultdict(dict)
    for (table,) in con.execute("select name from sqlite_master where type='table' and name like '%CNT0'"):
        columns = spec[table.split("_")[1]]["columns"]
        price_at = next(i for i, c in enumerate(columns) if c in ("futs_prpr", "optn_prpr"))
        size_at = columns.index("last_cnqn")
        rows = con.execute(f'select * from "{table}"').fetchall()
        for row in sorted(rows, key=lambda r: (r[3], r[0])):  # id, timestamp, code, bsop_hour, ...
            fields = row[2:]
            symbol, hhmmss = fields[0], fields[1]
            price, size = Decimal(fields[price_at]), Decimal(fields[size_at])
            minute = datetime(day.year, day.month, day.day, int(hhmmss[:2]), int(hhmmss[2:4]), tzinfo=KST)
            bar = out[symbol].get(minute.astimezone(UTC))
            if bar is None:
                out[symbol][minute.astimezone(UTC)] = [price, price, price, price, size]
            else:
                bar[1], bar[2], bar[3], bar[4] = max(bar[1], price), min(bar[2], price), price, bar[4] + size
    return {s: {k: tuple(v) for k, v in bars.items()} for s, bars in out.items()}


def stored_bars(symbol: str, start: datetime, end: datetime) -> dict[datetime, tuple]:
    return {
        c.open_time: (c.open, c.high, c.low, c.close, c.volume)
        for c in Candle.objects.filter(
            instrument__symbol=symbol, interval="1m", open_time__gte=start, open_time__lt=end
        )
    }


@pytest.mark.parametrize("recording", [NIGHT, DAY])
def test_import_builds_1m_candles_equal_to_an_independent_aggregation(recorded, recording):
    expected = independent_bars(recording)
    assert {"101W09"} <= set(expected) and sum(len(b) for b in expected.values()) >= 5
    for symbol, bars in expected.items():
        if not Instrument.objects.filter(exchange="krx", symbol=symbol).exists():
            continue  # a weekly not in the masters: its ticks were skipped too
        start, end = min(bars), max(bars) + timedelta(minutes=1)
        assert stored_bars(symbol, start, end) == bars, symbol


def test_candles_api_serves_the_1m_bars(client, recorded):
    future = Instrument.objects.get(exchange="krx", symbol="101W09")
    body = client.get(
        f"/api/v1/instruments/{future.pk}/candles/", {"interval": "1m", "start": "2025-07-18", "end": "2025-07-18"}
    ).json()
    expected = independent_bars(DAY)["101W09"]
    assert [datetime.fromisoformat(r["open_time"]) for r in body["results"]] == sorted(expected)
    last = body["results"][-1]
    assert (
        Decimal(last["close"]) == expected[max(expected)][3] and Decimal(last["volume"]) == expected[max(expected)][4]
    )
    # traded value: price x contracts x the multiplier (KRW per point) of the master
    trades = Tick.objects.filter(instrument=future, kind="trade", exchange_time__gte=max(expected))
    trades = trades.filter(exchange_time__lt=max(expected) + timedelta(minutes=1))
    assert Decimal(last["quote_volume"]) == sum(t.price * t.size for t in trades) * future.multiplier


def test_minute_bars_rejects_trades_out_of_order():
    t = datetime(2025, 7, 18, 5, 4, tzinfo=UTC)
    with pytest.raises(ValueError, match="out of order"):
        minute_bars([(t, Decimal(1), Decimal(1)), (t - timedelta(minutes=1), Decimal(1), Decimal(1))])
