"""The installed demo clock (``markets.sources.clock.DemoClock``) and the market's "now".

``manage.py serve`` installs one clock for all its replays; the pages' header, ``GET
/api/v1/clock/``, the board messages, the charts (no candle after the clock) and the bots'
strategy day read it here. It is kept in the cache, so with Redis a replay process and the web
processes share it. Without an installed clock (production, live feeds) the market's now is
the wall clock and the header shows nothing.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from markets.sources.clock import KST, DemoClock

CACHE_KEY = "markets:demo-clock"


def demo_clock() -> DemoClock | None:
    """The installed demo clock, or ``None`` (production / no replay)."""
    data = cache.get(CACHE_KEY)
    if not data:
        return None
    try:
        return DemoClock.from_dict(data)
    except (KeyError, ValueError, TypeError):
        return None


def demo_clock_install(*, clock: DemoClock) -> None:
    """Make ``clock`` the demo's clock (until ``demo_clock_clear`` or a cache flush)."""
    cache.set(CACHE_KEY, clock.to_dict(), timeout=None)


def demo_clock_clear() -> None:
    cache.delete(CACHE_KEY)


def demo_clock_from_settings(*, wall_start: datetime, speed: float | None = None) -> DemoClock:
    """The clock of ``settings.MARKETS["DEMO_CLOCK"]`` (START, END: ISO 8601 with offset; SPEED)
    starting at ``wall_start``; ``speed`` overrides SPEED. ``ValueError`` on a bad setting."""
    conf = settings.MARKETS["DEMO_CLOCK"]
    return DemoClock(
        start=datetime.fromisoformat(conf["START"]),
        end=datetime.fromisoformat(conf["END"]),
        speed=float(speed if speed is not None else conf["SPEED"]),
        wall_start=wall_start,
    )


def market_now(wall: datetime | None = None) -> datetime:
    """The market's present (aware UTC): the demo clock's recorded instant at ``wall`` (default:
    now) when a clock is installed, else ``wall`` itself."""
    wall = wall or timezone.now()
    clock = demo_clock()
    return clock.now(wall) if clock is not None else wall


def clock_payload(wall: datetime | None = None) -> dict:
    """The clock as the header, the API and the board messages show it:
    ``{"mode": "replay", "now", "now_kst", "start", "end", "speed", "wall_start", "run", "label",
    "label_ko"}`` (times ISO 8601 with offset; ``run`` 0 = first pass) or ``{"mode": "live", "now"}``."""
    wall = wall or timezone.now()
    clock = demo_clock()
    if clock is None:
        return {"mode": "live", "now": wall.isoformat()}
    now, run = clock.position(wall)
    label, label_ko = clock.labels(wall)
    return {
        "mode": "replay",
        "now": now.isoformat(),
        "now_kst": now.astimezone(KST).isoformat(),
        **clock.to_dict(),
        "run": run,
        "label": label,
        "label_ko": label_ko,
    }


# --- a recording of another date on the clock (the KIS derivatives sessions) ------------------

KIS_REPLAY_KEY = "markets:demo-kis-replay"


def looped_instant(clock: DemoClock, wall: datetime, *, start: datetime, end: datetime) -> datetime:
    """The instant (aware UTC) of a recording ``start``..``end`` that is not on the clock's window
    (another date) at ``wall``: ``start + (clock.now(wall) - clock.start) mod span`` with span =
    ``end - start`` + 1 s (so the last record is reached), i.e. the recording runs at the clock's
    speed and starts over every span of clock time, and whenever the clock restarts."""
    span = (end - start).total_seconds() + 1.0
    offset = (clock.now(wall) - clock.start).total_seconds() % span
    return start.astimezone(UTC) + timedelta(seconds=offset)


def kis_replay_install(*, path: str, start: datetime, end: datetime) -> None:
    """Say that the demo replays the KIS recording ``path`` (its first and last record) on the clock."""
    cache.set(KIS_REPLAY_KEY, {"path": path, "start": start.isoformat(), "end": end.isoformat()}, timeout=None)


def kis_replay_clear() -> None:
    cache.delete(KIS_REPLAY_KEY)


def kis_replay_info(wall: datetime | None = None) -> dict | None:
    """The KIS derivatives replay the demo runs, as the page shows it: ``{"path", "start", "end"
    (aware UTC), "span_minutes", "span_seconds" (clock time per loop: minutes and seconds), "span_wall_seconds", "now" (the
    recording's instant at ``wall``)}``; ``None`` when no clock or no KIS replay is installed."""
    clock = demo_clock()
    data = cache.get(KIS_REPLAY_KEY)
    if clock is None or not data:
        return None
    try:
        start, end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
    except (KeyError, ValueError, TypeError):
        return None
    span = (end - start).total_seconds() + 1.0
    wall = wall or timezone.now()
    return {
        "path": data.get("path", ""),
        "start": start.astimezone(UTC),
        "end": end.astimezone(UTC),
        "span_minutes": int(span // 60),
        "span_seconds": int(span % 60),
        "span_wall_seconds": round(span / clock.speed),
        "now": looped_instant(clock, wall, start=start, end=end),
    }
