"""The ``kis_replay`` source on the recorded sessions (../shared/data/kis; unlicensed, skips when
absent): every row re-encoded into the documented wire format and parsed by the production
parser; the replay emits exactly the recorded records (those ``import_kis_recording`` reads),
paced by speed and start or by an outside clock; through the feed into ticks, candles, tickers;
``stream_tickers --source kis_replay``."""

import sqlite3
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from markets.sources.kis.frames import FrameParser, load_spec
from markets.sources.kis.recording import read_recording
from markets.sources.kis.replay import KisReplaySource, wire_frames
from tests.kis.conftest import DAY, NIGHT
from tests.kis.test_frames import kis_file

CORE = ("symbol", "kind", "session_date", "sequence", "exchange_time", "received_time", "price", "size")
CORE += ("bid", "ask", "bid_size", "ask_size", "tr_id")


def spec():
    return load_spec(kis_file("spec/kis_realtime_fields.json"))


def core(tick):
    return tuple(getattr(tick, name) for name in CORE)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def replay(recording, **kwargs):
    columns = spec()
    collected = []

    async def sink(ticks):
        collected.extend(ticks)

    source = KisReplaySource(
        path=kis_file(recording), parser=FrameParser(columns), spec=columns, tick_sink=sink, **kwargs
    )
    return source, collected


async def drain(source, *, step=None, clock=None, limit=10_000):
    """Run the source's stream; ``step`` wall seconds pass on ``clock`` at each of its sleeps."""
    batches = []

    async def sleep(seconds):
        if clock is not None:
            clock.now += step if step is not None else seconds

    source._sleep = sleep
    async for batch in source.stream_tickers():
        batches.append(batch)
        if len(batches) >= limit:
            break
    return batches


@pytest.mark.parametrize("recording", [NIGHT, DAY])
def test_every_row_reencoded_parses_back_to_its_recorded_fields(recording):
    columns = spec()
    parser = FrameParser(columns)
    con = sqlite3.connect(kis_file(recording))
    frames = wire_frames(kis_file(recording), columns)
    rows = 0
    for wire in frames:
        frame = parser.parse(wire.raw)
        assert frame.kind == "data", frame.reason
        assert len(frame.records) == len(wire.row_ids) == int(wire.raw.split("|")[2])
        tr_id = wire.table.split("_", 1)[1]
        for record, row_id in zip(frame.records, wire.row_ids, strict=True):
            cursor = con.execute(f'select * from "{wire.table}" where id = ?', (row_id,))
            names = [d[0] for d in cursor.description]
            row = dict(zip(names, cursor.fetchone(), strict=True))
            values = [str(v) for v in list(row.values())[2:]]
            if tr_id.endswith("ASP0"):  # level 1 at its spec columns, the code from the table name
                assert record[columns[tr_id][0]] == wire.table.split("_")[0]
                assert all(record[name] == str(row[name]) for name in names[2:])
            else:  # every recorded field in wire order (the night options: their first 46)
                assert [record[c] for c in columns[tr_id][: len(values)]] == values
            rows += 1
    assert rows == sum(
        con.execute(f'select count(*) from "{t}"').fetchone()[0]
        for (t,) in con.execute("select name from sqlite_master where type='table' and name != 'sqlite_sequence'")
    )
    assert parser.stats["quarantined"] == 0 and parser.stats["records"] == rows
    assert [w.received for w in frames] == sorted(w.received for w in frames)


@pytest.mark.asyncio
@pytest.mark.parametrize("recording", [NIGHT, DAY])
async def test_replay_emits_exactly_the_recorded_records(recording):
    clock = FakeClock()
    source, collected = replay(recording, speed=50, clock=clock)
    batches = await drain(source, clock=clock, step=1.0)
    expected = sorted(core(t) for t in read_recording(kis_file(recording), FrameParser(spec())))
    assert sorted(core(t) for t in collected) == expected
    assert len(collected) == len({core(t) for t in collected})  # each once
    assert source.stats["frames_sent"] == len(source.frames) and source.parser.stats["quarantined"] == 0
    latest = {}  # the last ticker published per code, batch after batch
    for batch in batches:
        latest.update({snapshot.symbol: snapshot.last_price for snapshot in batch})
    trades = sorted((t for t in collected if t.kind == "trade"), key=lambda t: (t.received_time, t.sequence))
    assert latest == {t.symbol: t.price for t in trades}


@pytest.mark.asyncio
async def test_speed_and_start_pace_the_replay():
    clock = FakeClock()
    start = datetime(2025, 7, 18, 14, 3, 50, tzinfo=UTC) + timedelta(hours=-9)  # 14:03:50 KST
    source, collected = replay(DAY, speed=2, start=start, clock=clock, poll_seconds=1.0)
    frames = source.frames
    await drain(source, clock=clock, step=1.0, limit=1)  # polls until the first batch with an execution
    position = start + timedelta(seconds=(clock.now - 100.0) * 2)  # 2 recorded seconds per wall second
    first = next(i for i, f in enumerate(frames) if f.received >= start)
    assert first > 0  # the recording begins before 14:03:50 KST: those frames were not sent
    sent = frames[first : source._next]
    assert sent and all(start <= f.received <= position for f in sent)
    assert source._next == len(frames) or frames[source._next].received > position
    assert sorted(t.sequence for t in collected) == sorted(i for f in sent for i in f.row_ids)


@pytest.mark.asyncio
async def test_an_outside_clock_drives_it_and_a_jump_back_starts_over():
    instants = []

    def recorded_now():
        return instants[-1]

    source, collected = replay(DAY, recorded_now=recorded_now, loop=True)
    first, last = source.frames[0].received, source.frames[-1].received
    middle = first + (last - first) / 2
    instants.append(middle)
    sent_middle = list(source.due())
    assert sent_middle == [f for f in source.frames if f.received <= middle]  # joins where the clock stands
    instants.append(last)
    rest = list(source.due())
    assert sent_middle + rest == source.frames and source.finished()
    instants.append(first)  # the demo clock restarted
    again = list(source.due())
    assert source.passes == 1 and again == [source.frames[0]]


def test_bad_speed_or_naive_start_is_refused():
    with pytest.raises(ValueError, match="speed"):
        replay(DAY, speed=0)
    with pytest.raises(ValueError, match="timezone"):
        replay(DAY, start=datetime(2025, 7, 18, 14, 3, 50))


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_through_the_feed_ticks_candles_and_tickers_are_stored_and_a_rerun_adds_nothing():
    from asgiref.sync import sync_to_async

    from markets.feed import run_feed
    from markets.kis_realtime import build_replay_source
    from markets.models import Candle, Instrument, Tick, Ticker
    from tests.kis.test_fo_master import load_masters

    await sync_to_async(load_masters)()

    async def run():
        clock = FakeClock()

        async def sleep(seconds):
            clock.now += seconds

        source = build_replay_source(kis_file(DAY), speed=1000, clock=clock, sleep=sleep)
        return source, await run_feed(source)

    source, batches = await run()
    assert batches >= 1
    count = await sync_to_async(Tick.objects.filter(source="kis_replay").count)()
    expected = await sync_to_async(lambda: len(list(read_recording(kis_file(DAY), FrameParser(spec())))))()
    assert count == expected
    future = await sync_to_async(Instrument.objects.get)(exchange="krx", symbol="101W09")
    ticker = await sync_to_async(Ticker.objects.get)(instrument=future)
    last = await sync_to_async(
        lambda: Tick.objects.filter(instrument=future, kind="trade").order_by("exchange_time", "sequence").last()
    )()
    assert ticker.last_price == last.price and ticker.source == "kis_replay"
    assert await sync_to_async(Candle.objects.filter(instrument=future, interval="1m").count)() == 2  # 14:03, 14:04
    await run()
    assert await sync_to_async(Tick.objects.count)() == count  # same records, same sequences: nothing new


@pytest.mark.django_db
def test_stream_tickers_command_needs_a_file_and_refuses_a_bad_start():
    with pytest.raises(CommandError, match="--file"):
        call_command("stream_tickers", "--source", "kis_replay")
    with pytest.raises(CommandError, match="start"):
        call_command("stream_tickers", "--source", "kis_replay", "--file", str(kis_file(DAY)), "--start", "soon")
    with pytest.raises(CommandError, match="timezone"):
        call_command(
            "stream_tickers", "--source", "kis_replay", "--file", str(kis_file(DAY)), "--start", "2025-07-18T14:03:50"
        )


@pytest.mark.django_db(transaction=True)
def test_stream_tickers_command_replays_a_session():
    from tests.kis.test_fo_master import load_masters

    load_masters()
    out = StringIO()
    call_command(
        "stream_tickers",
        "--source",
        "kis_replay",
        "--file",
        str(kis_file(DAY)),
        "--speed",
        "1000",
        "--batches",
        "2",
        stdout=out,
        stderr=StringIO(),
    )
    assert "2 batches published" in out.getvalue()
    from markets.models import Tick

    assert Tick.objects.filter(source="kis_replay").exists()
