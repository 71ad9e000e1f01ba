"""The KIS realtime session against a local fake KIS WebSocket server (tests/kis/fake_kis.py).

Frames pushed are the recorded raw frames of ../shared/data/kis (unlicensed: these tests skip,
saying why, when it is absent); the multi-record frame joins two recorded records under count 002,
and the AES vector is made with the ``cryptography`` library (no recorded encrypted notice exists).
Time is a fake clock advanced by the injected ``sleep``, so backoff and the 10 s rule run fast.
"""

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from markets.sources.kis.frames import FrameParser, aes_cbc_decrypt, aes_cbc_encrypt, load_spec
from markets.sources.kis.source import frame_ticks
from markets.sources.kis.ws import KisSession, backoff_delay
from tests.kis.fake_kis import AES_IV, AES_KEY, FakeKis, FakeTime, next_port, until

KIS = Path(settings.MARKETS["SHARED_DATA_DIR"]) / "kis"
SPEC = KIS / "spec" / "kis_realtime_fields.json"
SEOUL = ZoneInfo("Asia/Seoul")


def kis_file(relative: str) -> Path:
    path = KIS / relative
    if not path.exists():
        pytest.skip(f"../shared/data/kis absent: {relative} is unlicensed and not shipped")
    return path


def lines(name: str) -> list[str]:
    return kis_file(name).read_text(encoding="utf-8").splitlines()


@pytest.fixture
def parser():
    return FrameParser(load_spec(kis_file("spec/kis_realtime_fields.json")), clock=lambda: 0.0)


def stock_payloads() -> list[str]:
    return [line.split("|", 3)[3] for line in lines("raw_frames_stock.txt")]


def session_for(fake, parser, wanted, time, frames, **kwargs):
    async def planner():
        return list(wanted())

    return KisSession(
        url=fake.url,
        approval_key=lambda: "approval-test",
        planner=planner,
        on_frame=lambda frame, received: frames.append(frame),
        parser=parser,
        clock=time.clock,
        sleep=time.sleep,
        rand=lambda: 0.5,
        idle_timeout=None,
        **kwargs,
    )


async def stop(task):
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def registrations(n, tr_id="H0IOCNT0"):
    return [("H0IFCNT0", "101W09"), ("H0IFASP0", "101W09")] + [(tr_id, f"201W08{400 + i:03d}") for i in range(n)]


@pytest.mark.asyncio
async def test_documented_frames_acks_multi_record_pingpong_aes_and_quarantine(parser):
    payloads = stock_payloads()
    fake = await FakeKis(next_port()).start()
    frames, time = [], FakeTime()
    wanted = [("H0STCNT0", "005930"), ("H0IFCNT0", "101W09")]
    session = session_for(fake, parser, lambda: wanted, time, frames)
    task = asyncio.create_task(session.run())
    try:
        await until(lambda: parser.stats["ack"] == 2)
        sent = fake.sessions[0]
        assert [m["body"]["input"] for m in sent] == [{"tr_id": t, "tr_key": k} for t, k in wanted]
        assert all(
            m["header"] == {"approval_key": "approval-test", "custtype": "P", "tr_type": "1", "content-type": "utf-8"}
            for m in sent
        )
        assert parser.keys["H0STCNT0"] == (AES_KEY, AES_IV)  # kept from the acknowledgement

        # one frame, two records: both parsed, in order
        await fake.push("0|H0STCNT0|002|" + "^".join(payloads))
        await until(lambda: len(frames) == 1)
        assert [r["STCK_PRPR"] for r in frames[0].records] == ["62700", "250500"]
        assert [r["BSOP_DATE"] for r in frames[0].records] == ["20230324", "20260724"]

        # PINGPONG comes back verbatim
        ping = await fake.pingpong()
        await until(lambda: fake.echoes)
        assert fake.echoes == [ping]

        # an encrypted frame (flag 1) decrypts with the ack's key and iv
        cipher = aes_cbc_encrypt(payloads[1], AES_KEY, AES_IV)
        assert cipher != payloads[1] and aes_cbc_decrypt(cipher, AES_KEY, AES_IV) == payloads[1]
        await fake.push(f"1|H0STCNT0|001|{cipher}")
        await until(lambda: len(frames) == 2)
        assert frames[1].encrypted and frames[1].records[0]["STCK_PRPR"] == "250500"

        # an unknown field count is quarantined; the feed goes on with the next frame
        await fake.push("0|H0STCNT0|001|005930^112616^62700")
        await fake.push("0|H0STCNT0|001|" + payloads[0])
        await until(lambda: len(frames) == 4)
        assert frames[2].kind == "quarantine" and "unknown field count 3" in frames[2].reason
        assert frames[3].kind == "data" and frames[3].records[0]["STCK_PRPR"] == "62700"
        assert parser.stats["quarantined:H0STCNT0"] == 1
        assert len(fake.sessions) == 1 and session.stats["connect_attempts"] == 1
    finally:
        await stop(task)
        await fake.stop()


@pytest.mark.asyncio
async def test_server_drop_reconnects_and_restores_every_registration(parser):
    fake = await FakeKis(next_port()).start()
    frames, time = [], FakeTime()
    wanted = registrations(30)
    session = session_for(fake, parser, lambda: wanted, time, frames)
    task = asyncio.create_task(session.run())
    try:
        await until(lambda: fake.held and fake.held[0] == set(wanted))
        await fake.drop()
        await until(lambda: len(fake.held) == 2 and fake.held[1] == set(wanted))
        again = [(m["body"]["input"]["tr_id"], m["body"]["input"]["tr_key"]) for m in fake.sessions[1]]
        assert again == wanted  # every registration, in priority order, once
        assert session.stats["connects"] == 2 and session.stats["disconnects"] == 1
        first, second = session.attempt_times
        assert second - first >= 10.0
    finally:
        await stop(task)
        await fake.stop()


@pytest.mark.asyncio
async def test_while_kis_is_down_at_most_one_attempt_per_10_s_with_capped_backoff(parser):
    port = next_port()
    fake = FakeKis(port)  # not started: connections are refused
    frames, time = [], FakeTime()
    wanted = registrations(5)
    session = session_for(fake, parser, lambda: wanted, time, frames)
    task = asyncio.create_task(session.run())
    try:
        await until(lambda: len(session.attempt_times) >= 12)
        gaps = [b - a for a, b in zip(session.attempt_times, session.attempt_times[1:], strict=False)]
        assert min(gaps) >= 10.0
        assert max(gaps) <= 60.0
        # the backoff doubles (with jitter 0.5 -> three quarters of the ceiling) up to the 60 s cap
        expected = [max(10.0, backoff_delay(n, base=1.0, cap=60.0, rand=lambda: 0.5)) for n in range(1, 12)]
        assert gaps[:11] == pytest.approx(expected)
        assert gaps[-1] == pytest.approx(45.0)
        assert session.stats["connects"] == 0

        await fake.start()  # KIS is back: one session, every registration
        await until(lambda: fake.held and fake.held[0] == set(wanted), timeout=10)
        assert session.stats["connects"] == 1
    finally:
        await stop(task)
        await fake.stop()


@pytest.mark.asyncio
async def test_never_more_than_41_registrations_and_replans_send_only_the_difference(parser):
    fake = await FakeKis(next_port(), reject={("H0IOCNT0", "201W08405")}).start()
    frames, time = [], FakeTime()
    plans = {"now": registrations(58)}  # 60 wanted: more than KIS allows
    session = session_for(fake, parser, lambda: plans["now"], time, frames)
    task = asyncio.create_task(session.run())
    try:
        # the refused one is dropped and its slot goes to the next wanted (the 42nd)
        await until(lambda: fake.held and registrations(58)[41] in fake.held[0])
        await asyncio.sleep(0.05)  # more re-plans: the refused one is not asked again
        held = fake.held[0]
        assert len(held) == 41 and ("H0IOCNT0", "201W08405") not in held
        assert held == set(registrations(58)[:42]) - {("H0IOCNT0", "201W08405")}
        sent_before = len(fake.sessions[0])
        assert sent_before == 42
        # the money moves: the first four options leave, four new ones come
        plans["now"] = registrations(58)[:2] + [("H0IOCNT0", f"201W08{500 + i:03d}") for i in range(4)]
        plans["now"] += registrations(58)[6:]
        await until(lambda: ("H0IOCNT0", "201W08503") in fake.held[0])
        await asyncio.sleep(0.05)  # more re-plans: nothing else is sent
        changes = fake.sessions[0][sent_before:]
        kinds = [(m["header"]["tr_type"], m["body"]["input"]["tr_key"]) for m in changes]
        unsub = [k for t, k in kinds if t == "2"]
        sub = [k for t, k in kinds if t == "1"]
        assert unsub == ["201W08400", "201W08401", "201W08402", "201W08403"]
        assert sub[:4] == ["201W08500", "201W08501", "201W08502", "201W08503"]
        assert kinds.index(("2", "201W08403")) < kinds.index(("1", "201W08500"))  # unsubscribe first
        assert fake.max_held <= 41 and len(session.active) <= 41
        assert all(len(s) <= 41 for s in fake.held)
    finally:
        await stop(task)
        await fake.stop()


@pytest.mark.asyncio
async def test_a_rebuilt_session_still_waits_out_the_10_s_interval(parser):
    fake = FakeKis(next_port())  # down
    frames, time = [], FakeTime()
    first = session_for(fake, parser, lambda: [], time, frames)
    task = asyncio.create_task(first.run())
    await until(lambda: len(first.attempt_times) >= 1)
    await stop(task)
    second = session_for(fake, parser, lambda: [], time, frames)  # as run_feed_forever rebuilds it
    task = asyncio.create_task(second.run())
    try:
        await until(lambda: len(second.attempt_times) >= 1)
        assert second.attempt_times[0] - first.attempt_times[-1] >= 10.0
    finally:
        await stop(task)


def test_backoff_is_capped_and_jittered():
    assert backoff_delay(0, base=1, cap=60, rand=lambda: 0.9) == 0
    assert backoff_delay(3, base=1, cap=60, rand=lambda: 0.0) == 2.0  # half of 4
    assert backoff_delay(3, base=1, cap=60, rand=lambda: 1.0) == 4.0
    assert backoff_delay(50, base=1, cap=60, rand=lambda: 1.0) == 60.0


def test_recorded_night_frames_become_ticks_with_the_night_session_date(parser):
    raw = lines("raw_frames_futures_night.txt")
    received = datetime(2025, 7, 15, 1, 22, 5, tzinfo=SEOUL).timestamp()  # the frames' bsop_hour is 01:22
    seq = iter(range(1, 100))
    ticks = [t for line in raw for t in frame_ticks(parser.parse(line), received, lambda: next(seq))]
    quotes = [t for t, snap in ticks if t.kind == "quote"]
    trades = [(t, snap) for t, snap in ticks if t.kind == "trade"]
    assert len(quotes) == 3 and len(trades) == 3
    assert {t.session_date for t, _ in ticks} == {date(2025, 7, 14)}  # after midnight: the session that began
    quote = quotes[1]
    assert (quote.symbol, quote.ask, quote.bid) == ("101W09", Decimal("344.20"), Decimal("344.15"))
    assert quote.exchange_time == datetime(2025, 7, 15, 1, 22, 1, tzinfo=SEOUL).astimezone(UTC)
    trade, snap = trades[0]
    assert trade.price > 0 and trade.size > 0 and trade.side == ""
    assert snap.exchange == "krx" and snap.symbol == "101W09" and snap.last_price == trade.price
    # futures acml_tr_pbmn is in thousands of KRW on the wire: the snapshot carries KRW
    assert snap.traded_value_24h == Decimal(trade.extra["acml_tr_pbmn"]) * 1000
    assert [t.sequence for t, _ in ticks] == sorted({t.sequence for t, _ in ticks})


def test_stock_frame_ticker_in_krw_with_the_aggressor_side(parser):
    frame = parser.parse(lines("raw_frames_stock.txt")[0])
    [(tick, snap)] = list(frame_ticks(frame, datetime(2023, 3, 24, 2, 26, 17, tzinfo=UTC).timestamp(), lambda: 1))
    assert tick.exchange_time == datetime(2023, 3, 24, 11, 26, 16, tzinfo=SEOUL).astimezone(UTC)
    assert (tick.price, tick.size, tick.side, tick.session_date) == (
        Decimal("62700"),
        Decimal("125"),
        "buy",
        date(2023, 3, 24),
    )
    assert (snap.change, snap.change_rate, snap.volume_24h, snap.traded_value_24h) == (
        Decimal("400"),
        Decimal("0.0064"),
        Decimal("9694968"),
        Decimal("607878273600"),
    )


def test_recorded_day_executions_re_encoded_become_ticks_and_tickers(parser):
    import sqlite3

    con = sqlite3.connect(kis_file("recordings/kis_20250718_day.sqlite3"))
    try:
        rows = {
            table: con.execute(f'SELECT * FROM "{table}" ORDER BY id LIMIT 2').fetchall()
            for table in ("01W08_H0IOCNT0", "101W09_H0IFCNT0")
        }
    finally:
        con.close()
    received = datetime(2025, 7, 18, 14, 3, 38, tzinfo=SEOUL).timestamp()
    seq = iter(range(1, 100))
    for table, tr_id in (("01W08_H0IOCNT0", "H0IOCNT0"), ("101W09_H0IFCNT0", "H0IFCNT0")):
        # both rows in one frame, as KIS batches them: "0|tr_id|002|" + the fields of each, in wire order
        frame = parser.parse(f"0|{tr_id}|002|" + "^".join("^".join(row[2:]) for row in rows[table]))
        assert frame.kind == "data" and len(frame.records) == 2
        out = list(frame_ticks(frame, received, lambda: next(seq)))
        assert len(out) == 2 and all(snap is not None for _, snap in out)
        for (tick, snap), row in zip(out, rows[table], strict=True):
            assert tick.symbol == row[2] and tick.price == Decimal(row[4 if tr_id == "H0IOCNT0" else 7])
            assert tick.session_date == date(2025, 7, 18)
            assert snap.traded_value_24h == Decimal(tick.extra["acml_tr_pbmn"]) * 1000
