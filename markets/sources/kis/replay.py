"""The ``kis_replay`` source: a recorded KIS session replayed through the production parser (pure
Python, no Django).

A recording of the ``kis/recordings`` form (``recording.py``) is turned back into the wire: each
table's rows, in receive order, become data frames ``0|tr_id|count|payload`` of the documented
format (``frames.py``), consecutive rows of one table received at the same instant in one
multi-record frame, as KIS sends them. The frames then go through ``FrameParser.parse`` and
``source.frame_ticks``, the path the live ``kis`` source runs, so what the replay stores and
publishes is what the live feed would have.

Re-encoding, per table (what the recording kept, SOURCE.md):

* ``H0IFCNT0`` / ``H0IOCNT0`` / ``H0MFCNT0``: every wire field, in wire order: joined with ``^``;
* ``H0EUCNT0``: the first 46 wire fields (the recording's defect): joined, then the spec's
  remaining columns (56 in all) sent empty;
* ``*ASP0`` quotes: level 1 only; placed at their spec columns (code = the table's series), every
  other column of the 38 sent empty. Empty means "not recorded", never a made-up value.

Each tick keeps the recording's row id as its ``sequence`` and the recorded receive time, so a
replay of a session already imported (``import_kis_recording``) stores nothing twice.

Pacing (``stream_tickers``): every ``poll_seconds`` the source asks where the replay stands
(a recorded instant) and emits every frame received up to it, as one batch. That instant comes
from ``recorded_now()`` when given (the demo's one clock, e.g. ``lambda: clock.now(wall())``: a
jump back means the clock restarted, and the replay starts over), otherwise from its own clock:
``start + (clock() - clock at the first poll) * speed`` (``start`` default: the first record;
records before it are not sent). With ``recorded_now`` the first poll sends every frame up to
that instant at once (the replay joins the clock where it stands, with the state so far).
Without ``loop`` the stream ends after the last frame.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .frames import FrameParser
from .recording import KST, POSITIONAL, RecordingError, TickRecord, session_of
from .source import KisTickSource, TickerSnapshot

_TABLE = re.compile(r"^([0-9A-Z]+)_(H0[A-Z]{2}(?:CNT0|ASP0))$")
# the recording's level-1 quote columns -> the spec's column of the same value
QUOTE_COLUMNS = {
    "bsop_hour": "bsop_hour",
    "futs_askp1": "futs_askp1",
    "futs_bidp1": "futs_bidp1",
    "askp_csnu1": "askp_csnu1",
    "bidp_csnu1": "bidp_csnu1",
    "askp_rsqn1": "askp_rsqn1",
    "bidp_rsqn1": "bidp_rsqn1",
}


@dataclass(frozen=True)
class WireFrame:
    """One re-encoded frame: ``raw`` as KIS would send it, the receive time (aware UTC) and the
    recording's row id of each record."""

    received: datetime
    raw: str
    row_ids: tuple[int, ...]
    table: str


def _record(tr_id: str, series: str, columns: list[str], values: list[str], spec: list[str]) -> str:
    if tr_id.endswith("ASP0"):
        out = dict.fromkeys(spec, "")
        out[spec[0]] = series  # futs_shrn_iscd / optn_shrn_iscd
        for name, value in zip(columns, values, strict=True):
            target = QUOTE_COLUMNS.get(name)
            if target is None or target not in out:
                raise RecordingError(f"quote column {name!r} has no place in the {tr_id} wire record")
            out[target] = value
        return "^".join(out[c] for c in spec)
    if tr_id in POSITIONAL:
        if len(values) != POSITIONAL[tr_id]:
            raise RecordingError(f"{tr_id}: {len(values)} fields, the recording form has {POSITIONAL[tr_id]}")
        return "^".join(values + [""] * (len(spec) - len(values)))
    return "^".join(values)


def wire_frames(path: Path | str, spec: dict[str, list[str]]) -> list[WireFrame]:
    """Every row of the recording as wire frames, in receive order (ties: table name, row id).
    ``spec``: ``{tr_id: columns}`` (``frames.load_spec``). Raises RecordingError or sqlite3.Error."""
    path = Path(path)
    session_of(path)  # the name says which session; RecordingError otherwise
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    rows: list[tuple[datetime, str, int, str]] = []  # received, table, row id, record
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (table,) in con.execute("select name from sqlite_master where type='table' order by name"):
            if table == "sqlite_sequence":
                continue
            match = _TABLE.match(table)
            if not match:
                raise RecordingError(f"{path}: table {table!r} is not '<series>_<tr_id>'")
            series, tr_id = match[1], match[2]
            if tr_id not in spec:
                raise RecordingError(f"{path}: {tr_id} is not in the column lists")
            cursor = con.execute(f'select * from "{table}" order by id')
            columns = [d[0] for d in cursor.description][2:]
            for row in cursor:
                received = datetime.fromisoformat(row[1]).replace(tzinfo=KST).astimezone(UTC)
                values = ["" if v is None else str(v) for v in row[2:]]
                rows.append((received, table, int(row[0]), _record(tr_id, series, columns, values, spec[tr_id])))
    finally:
        con.close()
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    frames: list[WireFrame] = []
    group: list[tuple[datetime, str, int, str]] = []

    def close() -> None:
        if group:
            tr_id = group[0][1].split("_", 1)[1]
            payload = "^".join(r[3] for r in group)
            frames.append(
                WireFrame(group[0][0], f"0|{tr_id}|{len(group):03d}|{payload}", tuple(r[2] for r in group), group[0][1])
            )

    for row in rows:
        if group and (row[0] != group[0][0] or row[1] != group[0][1] or len(group) == 999):
            close()
            group = []
        group.append(row)
    close()
    return frames


class KisReplaySource(KisTickSource):
    """``stream_tickers`` replays ``path`` (see the module docstring for re-encoding and pacing):
    each batch of frames goes through ``parser`` and ``frame_ticks``; ticks to ``tick_sink``, the
    batch's latest execution per code yielded as ``TickerSnapshot``s.

    ``speed`` (recorded seconds per wall second, > 0), ``start`` (aware datetime inside the
    recording, default its first record), ``recorded_now`` (a function returning the recorded
    instant to show: the demo clock; then ``speed`` and ``start`` only pace nothing), ``clock``
    (monotonic seconds) and ``sleep`` (async) for tests, ``loop`` to start over after the end.
    Raises ValueError for ``speed <= 0`` or a naive ``start``; RecordingError for a bad file."""

    name = "kis_replay"

    def __init__(
        self,
        *,
        path: Path | str,
        parser: FrameParser,
        spec: dict[str, list[str]],
        speed: float = 1.0,
        start: datetime | None = None,
        recorded_now: Callable[[], datetime] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        poll_seconds: float = 0.5,
        loop: bool = False,
        tick_sink: Callable[[list[TickRecord]], Awaitable[Any]] | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        super().__init__(parser=parser, tick_sink=tick_sink, batch_seconds=poll_seconds)
        self.path = Path(path)
        self.frames = wire_frames(self.path, spec)
        if not self.frames:
            raise RecordingError(f"{self.path}: no records")
        self.speed = float(speed)
        self.start = start.astimezone(UTC) if start is not None else self.frames[0].received
        self.end = self.frames[-1].received
        self.loop = loop
        self.passes = 0
        self._recorded_now = recorded_now
        self._clock = clock
        self._sleep = sleep
        self._t0: float | None = None
        self._next = 0  # index of the next frame to send
        if recorded_now is None:
            self._rewind(self.start)  # our own clock starts at ``start``: what lies before is not sent

    def position(self) -> datetime:
        """The recorded instant (aware UTC) the replay stands at now."""
        if self._recorded_now is not None:
            return self._recorded_now().astimezone(UTC)
        if self._t0 is None:
            self._t0 = self._clock()
        return self.start + timedelta(seconds=(self._clock() - self._t0) * self.speed)

    def _rewind(self, at: datetime) -> None:
        self._next = 0
        while self._next < len(self.frames) and self.frames[self._next].received < at:
            self._next += 1

    def due(self) -> Iterator[WireFrame]:
        """The frames received up to ``position()`` not sent yet (advances the replay). When the
        position went back before the last frame sent (the demo clock restarted), the replay
        starts over from its first frame (``passes`` counts the restarts)."""
        now = self.position()
        if self._next and now < self.frames[self._next - 1].received:
            self.passes += 1
            self._next = 0
        while self._next < len(self.frames) and self.frames[self._next].received <= now:
            yield self.frames[self._next]
            self._next += 1

    def finished(self) -> bool:
        return self._next >= len(self.frames)

    async def stream_tickers(self, symbols: list[str] | None = None) -> AsyncIterator[list[TickerSnapshot]]:
        wanted = set(symbols) if symbols else None
        while True:
            for wire in self.due():
                frame = self.parser.parse(wire.raw)  # the production parser
                self.stats["frames_sent"] += 1
                self._on_frame(frame, wire.received.timestamp(), sequences=list(wire.row_ids))
            batch = await self.flush()
            if wanted is not None:
                batch = [s for s in batch if s.symbol in wanted]
            if batch:
                yield batch
            if self.finished():
                if not self.loop:
                    return
                if self._recorded_now is None:  # our own clock: start over at ``start``
                    self.passes += 1
                    self._t0 = self._clock()
                    self._rewind(self.start)
            await self._sleep(self.batch_seconds)
