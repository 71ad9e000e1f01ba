"""The demo's KIS derivatives replay on the one demo clock (../shared/data/kis; unlicensed, skips
when absent): ``manage.py serve`` builds the ``kis_replay`` source of the recorded night session
with ``recorded_now = kis_start + (clock.now - clock.start) mod span`` (``looped_instant``); its
frames follow that mapping and start over when it wraps; ``/derivatives/`` stands at the replay's
instant and says what it replays (or that no derivatives replay is available)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils import timezone

from markets.clock import demo_clock_clear, demo_clock_install, kis_replay_clear, kis_replay_info, looped_instant
from markets.models import Tick
from markets.sources.clock import DemoClock
from tests.kis.conftest import NIGHT
from tests.kis.test_frames import kis_file

CLOCK_START = datetime(2025, 5, 26, 0, 0, tzinfo=UTC)  # 09:00 KST, the demo window's start


def clock_at(offset_seconds: float, wall: datetime) -> DemoClock:
    """A 60x demo clock standing ``offset_seconds`` (clock time) after its start at ``wall``."""
    return DemoClock(
        start=CLOCK_START,
        end=CLOCK_START + timedelta(days=21),
        speed=60,
        wall_start=wall - timedelta(seconds=offset_seconds / 60),
    )


@pytest.fixture
def installed():
    yield
    demo_clock_clear()
    kis_replay_clear()


def test_looped_instant_maps_clock_time_into_the_recording_and_wraps():
    wall = datetime(2026, 1, 1, tzinfo=UTC)
    start = datetime(2025, 7, 14, 9, 43, tzinfo=UTC)
    end = start + timedelta(minutes=10)  # span = 601 s
    assert looped_instant(clock_at(0, wall), wall, start=start, end=end) == start
    assert looped_instant(clock_at(120, wall), wall, start=start, end=end) == start + timedelta(seconds=120)
    assert looped_instant(clock_at(600, wall), wall, start=start, end=end) == end  # the last record is reached
    assert looped_instant(clock_at(601 + 5, wall), wall, start=start, end=end) == start + timedelta(seconds=5)


def test_serve_builds_the_replay_on_the_clock_and_its_frames_follow_the_mapping(settings, installed):
    from tradesite.management.commands.serve import _kis_replay

    kis_file(NIGHT)
    settings.MARKETS = {
        **settings.MARKETS,
        "DEMO_CLOCK": {**settings.MARKETS["DEMO_CLOCK"], "KIS_RECORDING": "kis/" + NIGHT},
    }
    wall = [datetime(2026, 1, 1, tzinfo=UTC)]
    clock = clock_at(0, wall[0])
    demo_clock_install(clock=clock)
    factory = _kis_replay(clock)
    assert factory is not None and "looping every 27 min 55 s" in factory.label and "2025-07-14 18:43" in factory.label
    source = factory()
    assert source.name == "kis_replay" and source.loop
    start, end = source.frames[0].received, source.frames[-1].received
    assert (factory.start, factory.end) == (start, end)
    sent = []
    # drive the mapping with our wall clock: 5 wall seconds = 300 clock seconds per step
    source._recorded_now = lambda: looped_instant(clock, wall[0], start=start, end=end)
    for _ in range(5):
        wall[0] += timedelta(seconds=5)
        instant = looped_instant(clock, wall[0], start=start, end=end)
        due = list(source.due())
        assert all(f.received <= instant for f in due)
        sent += due
        assert source.finished() or source.frames[source._next].received > instant
    assert sent == [f for f in source.frames if f.received <= start + timedelta(seconds=1500)]
    # past one span the mapping wraps to the start: the replay starts over
    wall[0] = clock.wall_at(CLOCK_START + timedelta(seconds=(end - start).total_seconds() + 1 + 30))
    again = list(source.due())
    assert source.passes == 1 and again == [f for f in source.frames if f.received <= start + timedelta(seconds=30)]


def test_without_the_recording_serve_runs_no_derivatives_replay(settings, installed, tmp_path):
    from tradesite.management.commands.serve import _kis_replay

    settings.MARKETS = {**settings.MARKETS, "SHARED_DATA_DIR": tmp_path}
    clock = clock_at(0, datetime(2026, 1, 1, tzinfo=UTC))
    assert _kis_replay(clock) is None and kis_replay_info() is None


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_page_shows_the_chain_where_the_replay_stands(settings, installed, client):
    from markets.feed import run_feed
    from markets.kis_realtime import build_replay_source
    from tests.kis.test_fo_master import load_masters
    from tradesite.management.commands.serve import _kis_replay

    settings.MARKETS = {
        **settings.MARKETS,
        "DEMO_CLOCK": {**settings.MARKETS["DEMO_CLOCK"], "KIS_RECORDING": "kis/" + NIGHT},
    }
    await sync_to_async(load_masters)()
    # the replay of the whole session stored once (as the first pass of the demo does)
    full = build_replay_source(kis_file(NIGHT), recorded_now=lambda: datetime(2030, 1, 1, tzinfo=UTC))
    start, end = full.frames[0].received, full.frames[-1].received
    await run_feed(full)
    # the clock now stands 15 min into the recording
    clock = clock_at(900, timezone.now())
    demo_clock_install(clock=clock)
    assert await sync_to_async(_kis_replay)(clock) is not None
    response = await sync_to_async(client.get)(reverse("derivatives"))
    assert response.status_code == 200
    html = response.content.decode()
    board = response.context["board"]
    instant = response.context["replay"]["now"]
    assert start + timedelta(seconds=899) <= instant <= start + timedelta(seconds=1020)  # 60x: 2 s of wall
    last = await sync_to_async(
        lambda: (
            Tick.objects.filter(instrument=board["future"], kind="trade", received_time__lte=instant)
            .order_by("exchange_time", "sequence")
            .last()
        )
    )()
    later = await sync_to_async(
        Tick.objects.filter(instrument=board["future"], kind="trade", received_time__gt=instant).exists
    )()
    assert later and board["trade"] == last  # the board stands at the replay, not at the recording's end
    assert board["rows"] and any(r["call"] and r["call"]["tick"] for r in board["rows"])
    assert all(
        c["tick"].received_time <= instant for r in board["rows"] for c in (r["call"], r["put"]) if c and c["tick"]
    )
    html = re.sub(r"\s+", " ", html)
    assert (
        "Replay of the recorded KIS session 2025-07-14 18:43" in html
        and "looping every 27 min 55 s of the demo clock (28 s of wall time)" in html
    )
    assert "a different date than the demo clock" in html and "KIS 녹화 세션 재생" in html
    assert end > start


@pytest.mark.django_db
def test_the_demo_page_says_when_no_derivatives_replay_is_available(client, installed):
    response = client.get(reverse("derivatives"))
    assert "No derivatives replay is available" not in response.content.decode()  # no demo clock: production
    demo_clock_install(clock=clock_at(0, timezone.now()))
    html = client.get(reverse("derivatives")).content.decode()
    assert "No derivatives replay is available" in html and "파생상품 재생이 없습니다" in html
