"""The demo's one market clock: wall time -> recorded time, and every demo replay on it."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from markets.clock import clock_payload, demo_clock_clear, demo_clock_from_settings, demo_clock_install, market_now
from markets.replay_files import replay_data_dir
from markets.sources.clock import DemoClock
from markets.sources.replay import ReplaySource

WALL = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DATASETS = settings.MARKETS["DEMO_CLOCK"]["DATASETS"]


def settings_clock(speed: float | None = None) -> DemoClock:
    return demo_clock_from_settings(wall_start=WALL, speed=speed)


class FakeWall:
    """A wall clock that moves only when the replay sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def clocked_source(dataset: str, clock: DemoClock, wall: FakeWall) -> ReplaySource:
    return ReplaySource(dataset, data_dir=Path(replay_data_dir(dataset)), demo_clock=clock, wall=wall, sleep=wall.sleep)


async def take(source: ReplaySource, n: int) -> list:
    out = []
    async for batch in source.stream_tickers():
        out.append(batch)
        if len(out) >= n:
            break
    return out


def test_the_clock_maps_wall_time_to_recorded_time_and_restarts_at_the_end():
    clock = DemoClock(
        start=datetime(2025, 5, 26, tzinfo=UTC), end=datetime(2025, 5, 27, tzinfo=UTC), speed=60, wall_start=WALL
    )
    assert clock.now(WALL) == clock.start
    assert clock.now(WALL + timedelta(minutes=10)) == clock.start + timedelta(hours=10)  # 60x
    assert clock.wall_at(clock.start + timedelta(hours=10)) == WALL + timedelta(minutes=10)
    # one day of recording is 24 wall minutes; then pass 2 starts over
    now, run = clock.position(WALL + timedelta(minutes=25))
    assert (now, run) == (clock.start + timedelta(hours=1), 1)
    assert clock.wall_at(now, run=run) == WALL + timedelta(minutes=25)
    en, ko = clock.labels(WALL + timedelta(minutes=25))
    assert en == "Replay of 2025-05-26 10:00 KST, 60x · restarted, pass 2"
    assert "재생, 60배속" in ko and "2회차" in ko
    with pytest.raises(ValueError):
        DemoClock(start=clock.end, end=clock.start, speed=60, wall_start=WALL)


def test_the_installed_clock_is_the_markets_now_and_without_one_it_is_live():
    clock = settings_clock()
    assert market_now(WALL) == WALL and clock_payload(WALL)["mode"] == "live"
    demo_clock_install(clock=clock)
    later = WALL + timedelta(seconds=90)
    assert market_now(later) == clock.start + timedelta(seconds=90 * clock.speed)
    payload = clock_payload(later)
    assert payload["mode"] == "replay" and payload["label"] == "Replay of 2025-05-26 10:30 KST, 60x"
    demo_clock_clear()
    assert market_now(later) == later


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_demo_replay_covers_the_clock_and_shows_its_present(dataset):
    clock = settings_clock()
    wall = FakeWall(WALL + timedelta(hours=2))  # 5 recorded days into the window
    source = clocked_source(dataset, clock, wall)
    assert source.covers(clock.start, clock.end)
    batches = []

    async def run():
        async for batch in source.stream_tickers():
            batches.append((clock.now(wall()), batch))
            if len(batches) >= 6:
                return

    import asyncio

    asyncio.run(run())
    for now, batch in batches:
        times = {t.time for t in batch}
        assert len(times) == 1
        printed = times.pop()
        assert printed <= now  # nothing from the clock's future
        assert now - printed <= timedelta(days=4)  # the latest print (a KRX weekend is the longest wait)


def test_no_batch_after_the_end_of_the_window_resets_the_24h_figures():
    # given the board replay on a clock one pass of which is about to end
    clock = settings_clock()
    wall = FakeWall(clock.wall_at(clock.end - timedelta(hours=1)))
    source = clocked_source("upbit_15m_4coins", clock, wall)
    import asyncio

    batches = asyncio.run(take(source, 24))  # 16 batches per recorded hour: the end, then the restart
    runs = {clock.position(wall())[1]}
    assert runs == {1}  # we did cross into pass 2
    for batch in batches:
        for t in batch:
            assert t.volume_24h > 0 and t.change is not None
            assert t.change_rate is not None
    # the first batch of pass 2 is the window's start, with the 24 h before it from the recording
    restart = [b for b in batches if b[0].time == clock.start]
    assert restart and all(t.volume_24h > 0 for t in restart[0])


def test_a_krx_price_holds_between_batches_for_at_least_two_wall_minutes_at_60x():
    clock = settings_clock(speed=60)
    wall = FakeWall(clock.wall_at(datetime(2025, 5, 27, 0, 0, tzinfo=UTC)))  # 09:00 KST, a session opens
    source = clocked_source("krx_daily", clock, wall)
    import asyncio

    seen: list[tuple[datetime, object]] = []

    async def run():
        async for batch in source.stream_tickers():
            seen.append((wall(), next(t for t in batch if t.symbol == "005930").last_price))
            if len(seen) >= 40:
                return

    asyncio.run(run())
    changes = [seen[i][0] for i in range(1, len(seen)) if seen[i][1] != seen[i - 1][1]]
    assert changes  # the session does move
    gaps = [(b - a).total_seconds() for a, b in zip(changes, changes[1:], strict=False)]
    assert all(g >= 120 for g in gaps)  # 130 recorded minutes = 130 s of wall time
    # and the keepalive re-sends the unchanged price at least every 20 s (it stays fresh)
    stamps = [s[0] for s in seen]
    assert max((b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)) <= 20.5


@pytest.mark.django_db
def test_every_page_header_shows_the_clock_in_a_replay_and_nothing_live(client):
    assert "demo-clock" not in client.get("/").content.decode()
    demo_clock_install(clock=settings_clock())
    for url in ("/", "/quiz/", "/glossary/"):
        page = client.get(url).content.decode()
        assert 'id="demo-clock"' in page and "Replay of 2025-05-26 09:00 KST, 60x" in page and "60배속" in page
    assert client.get("/api/v1/clock/").json()["mode"] == "replay"


@pytest.mark.django_db(transaction=True)
def test_stream_tickers_with_demo_clock_installs_it_and_publishes_its_present():
    from django.core.management import call_command

    from markets.clock import demo_clock
    from markets.models import Ticker

    call_command(
        "stream_tickers", "--source", "replay", "--dataset", "binance_usdt_4h", "--demo-clock", "--batches", "1"
    )
    clock = demo_clock()
    assert clock is not None and clock.start == datetime.fromisoformat(settings.MARKETS["DEMO_CLOCK"]["START"])
    btc = Ticker.objects.get(instrument__exchange="binance", instrument__symbol="BTC/USDT")
    assert btc.time <= clock.now(datetime.now(UTC)) and btc.source == "replay"


@pytest.mark.django_db
def test_the_admin_header_shows_the_clock_too(admin_client):
    demo_clock_install(clock=settings_clock())
    page = admin_client.get("/admin/").content.decode()
    assert 'id="demo-clock"' in page and "Replay of 2025-05-26 09:00 KST, 60x" in page
