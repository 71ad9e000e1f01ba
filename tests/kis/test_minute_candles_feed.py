"""The live feed's tick sink (``markets.kis_realtime.store_ticks``) builds 1-minute candles as
executions arrive: the recorded day session (../shared/data/kis; skips when absent) stored in two
batches gives the bars of an independent aggregation of the file."""

from datetime import timedelta

from markets.kis_realtime import store_ticks
from markets.sources.kis.frames import FrameParser
from markets.sources.kis.recording import read_recording
from tests.kis.conftest import DAY
from tests.kis.test_fo_master import load_masters
from tests.kis.test_frames import kis_file
from tests.kis.test_minute_candles import independent_bars, stored_bars


def test_feed_sink_in_batches_builds_the_same_bars_as_at_once(db):
    load_masters()
    parser = FrameParser.from_spec_file(kis_file("spec/kis_realtime_fields.json"))
    # in arrival order, as the feed gets them: the split falls inside a minute of 101W09 trades
    records = sorted(read_recording(kis_file(DAY), parser), key=lambda r: r.received_time)
    half = len(records) // 2
    split = records[half].exchange_time.replace(second=0)
    assert any(r.kind == "trade" and r.exchange_time >= split for r in records[:half])
    store_ticks(records[:half])
    store_ticks(records[half:])  # minutes straddling the two batches are rebuilt whole
    for symbol, bars in independent_bars(DAY).items():
        start, end = min(bars), max(bars) + timedelta(minutes=1)
        assert stored_bars(symbol, start, end) == bars, symbol
    future = independent_bars(DAY)["101W09"]
    assert store_ticks(records) == 0  # a repeat stores nothing new and leaves the bars as they are
    assert stored_bars("101W09", min(future), max(future) + timedelta(minutes=1)) == future
