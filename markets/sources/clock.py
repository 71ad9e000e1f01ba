"""The demo clock: one mapping from wall time to a moment of the recording, shared by every replay.

A ``DemoClock`` says which recorded instant the demo shows at a given wall time:

    recorded(wall) = start + ((wall - wall_start) * speed) mod (end - start)

so at ``wall_start`` the demo is at ``start`` of the recording, it runs ``speed`` times faster
than real time, and when it reaches ``end`` it restarts at ``start`` (``run`` counts the passes:
0 the first, 1 after the first restart). Every replay source of the demo (the crypto board, KRX
stocks, USDT pairs, a derivatives session) reads the same clock, so they show one moment.

Pure (no Django): the web side keeps the installed clock in the cache (``markets.clock``).
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class DemoClock:
    """``start``/``end``: the recorded window (aware; the replay restarts at ``start`` when it
    reaches ``end``); ``speed``: recorded seconds per wall second (> 0); ``wall_start``: the wall
    time (aware) at which the demo was at ``start``. Raises ``ValueError`` on a naive datetime,
    ``end <= start`` or ``speed <= 0``."""

    start: datetime
    end: datetime
    speed: float
    wall_start: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _aware(self.start, "start"))
        object.__setattr__(self, "end", _aware(self.end, "end"))
        object.__setattr__(self, "wall_start", _aware(self.wall_start, "wall_start"))
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if not self.speed > 0:
            raise ValueError("speed must be > 0")

    @property
    def span_seconds(self) -> float:
        """Recorded seconds of one pass through the window."""
        return (self.end - self.start).total_seconds()

    def position(self, wall: datetime) -> tuple[datetime, int]:
        """(recorded instant, run) at ``wall``; before ``wall_start`` the clock stands at ``start``."""
        elapsed = max(0.0, (_aware(wall, "wall") - self.wall_start).total_seconds()) * self.speed
        run, offset = divmod(elapsed, self.span_seconds)
        return self.start + timedelta(seconds=offset), int(run)

    def now(self, wall: datetime) -> datetime:
        """The recorded instant (aware UTC) the demo shows at ``wall``."""
        return self.position(wall)[0]

    def wall_at(self, recorded: datetime, *, run: int = 0) -> datetime:
        """The wall time (aware UTC) at which pass ``run`` reaches ``recorded`` (inverse of ``now``)."""
        offset = (_aware(recorded, "recorded") - self.start).total_seconds() + run * self.span_seconds
        return self.wall_start + timedelta(seconds=offset / self.speed)

    def labels(self, wall: datetime) -> tuple[str, str]:
        """(English, Korean) header text at ``wall``, e.g. "Replay of 2025-05-26 09:00 KST, 60x"; after
        a restart it says so ("restarted, pass 2")."""
        now, run = self.position(wall)
        when = now.astimezone(KST).strftime("%Y-%m-%d %H:%M KST")
        speed = f"{self.speed:g}"
        en, ko = f"Replay of {when}, {speed}x", f"{when} 재생, {speed}배속"
        if run:
            en += f" · restarted, pass {run + 1}"
            ko += f" · 처음부터 다시 ({run + 1}회차)"
        return en, ko

    def to_dict(self) -> dict:
        """The clock as JSON-ready primitives (ISO 8601 with offset; ``from_dict`` reads it back)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "speed": self.speed,
            "wall_start": self.wall_start.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> DemoClock:
        """Inverse of ``to_dict``; ``KeyError``/``ValueError`` on a malformed dict."""
        return cls(
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            speed=float(data["speed"]),
            wall_start=datetime.fromisoformat(data["wall_start"]),
        )


async def follow(
    clock: DemoClock,
    times: Sequence[datetime],
    *,
    wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    keepalive: float = 20.0,
) -> AsyncIterator[int]:
    """Follow ``clock`` through a recording whose records are stamped ``times`` (sorted, aware):
    yield the index of the latest record at or before the clock's instant - at once, then each
    time the clock reaches the next record, again every ``keepalive`` wall seconds while nothing
    new was recorded (so a price stays fresh), and from the start when the clock restarts.
    Records the clock passed while the consumer was slow are skipped. Runs until cancelled.
    Any replay (candles, KRX sessions, a derivatives session's ticks) emits on the clock this way."""
    last: tuple[int, int] | None = None
    last_emit: datetime | None = None
    while times:
        now_wall = wall()
        now, run = clock.position(now_wall)
        idx = bisect_right(times, now) - 1
        due = last_emit is None or (now_wall - last_emit).total_seconds() >= keepalive
        if idx >= 0 and ((run, idx) != last or due):
            last, last_emit = (run, idx), now_wall
            yield idx
        following = times[idx + 1] if idx + 1 < len(times) and times[idx + 1] < clock.end else clock.end
        delay = (clock.wall_at(following, run=run) - wall()).total_seconds()
        await sleep(min(max(delay, 0.001), keepalive))
