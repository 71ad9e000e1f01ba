"""The in-process index of active alerts, per instrument, as numpy arrays (one per process).

The tick handler (``alerts.services.alerts_on_tick``) evaluates a batch against this index
instead of loading every alert of the batch's instruments as model rows: an instrument's
entry is loaded once (one query for all the batch's stale instruments) and kept until its
``AlertWatch.version`` changes (every alert create/update/delete, and the handler's own
expiries and ``once`` fires, set a new version) or it is older than
``ALERTS["INDEX_MAX_AGE_SECONDS"]`` (a backstop for writes that bypass the services).
The index only proposes fires: the handler re-reads and locks the proposed alerts before
writing, so a stale entry can never fire a deleted, paused or cooled-down alert.

Arrays of an entry (shape (n,), one row per active alert): ``pk`` int64, ``code`` int8
(``alerts.conditions.CODE``), ``trigger`` int8 (``TRIGGERS``), ``level``, ``level2``,
``value`` float64 (NaN when unused), ``window`` and ``bar`` and ``cooldown`` float64 seconds,
``expires`` epoch seconds (inf when open-ended), ``armed`` epoch seconds, ``fired_at`` and
``fired_bar`` epoch seconds (NaN if never).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from alerts.conditions import CODE, MOVING
from alerts.models import Alert, AlertWatch

TRIGGERS = {name: i for i, name in enumerate(Alert.Trigger.values)}
ONCE, ONCE_PER_BAR, ONCE_PER_BAR_CLOSE, EVERY_TIME = (TRIGGERS[t] for t in Alert.Trigger.values)
MOVING_CODES = np.array(sorted(CODE[c] for c in MOVING), dtype=np.int8)
FIELDS = (
    "pk",
    "instrument_id",
    "condition",
    "trigger",
    "level",
    "level2",
    "value",
    "window_minutes",
    "bar_seconds",
    "cooldown_seconds",
    "expires_at",
    "armed_at",
    "last_fired_at",
    "last_fired_bar",
)


def _epoch(t) -> float:
    return t.timestamp() if t is not None else np.nan


def _num(d) -> float:
    return float(d) if d is not None else np.nan


@dataclass
class Entry:
    """One instrument's active alerts (see the module docstring for the arrays)."""

    version: int
    loaded_at: float
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    moving: np.ndarray = field(init=False)
    bar_close: np.ndarray = field(init=False)
    longest: float = field(init=False)
    bars: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        self._derive()

    def _derive(self) -> None:
        """What each batch would otherwise recompute: the ``moving_*`` and bar-close masks, the
        longest window (seconds) and the bar intervals of the bar-close alerts."""
        a = self.arrays
        self.moving = np.isin(a["code"], MOVING_CODES)
        self.bar_close = a["trigger"] == ONCE_PER_BAR_CLOSE
        self.longest = float(a["window"][self.moving].max(initial=0.0))
        self.bars = frozenset(int(b) for b in a["bar"][self.bar_close])

    @property
    def size(self) -> int:
        return len(self.arrays["pk"])

    def drop(self, pks) -> None:
        """Remove alerts (fired ``once``, expired) from this entry."""
        keep = ~np.isin(self.arrays["pk"], np.fromiter(pks, dtype=np.int64))
        self.arrays = {k: v[keep] for k, v in self.arrays.items()}
        self._derive()

    def set(self, pk: int, **values: float) -> None:
        """Record a fire's state (``fired_at``, ``fired_bar``) on one alert of this entry."""
        hit = self.arrays["pk"] == pk
        for name, v in values.items():
            self.arrays[name][hit] = v


def _build(rows: list[tuple]) -> dict[str, np.ndarray]:
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(FIELDS)
    c = dict(zip(FIELDS, cols, strict=True))
    expires = np.fromiter((_epoch(t) for t in c["expires_at"]), dtype=float, count=n)
    return {
        "pk": np.fromiter(c["pk"], dtype=np.int64, count=n),
        "code": np.fromiter((CODE[x] for x in c["condition"]), dtype=np.int8, count=n),
        "trigger": np.fromiter((TRIGGERS[x] for x in c["trigger"]), dtype=np.int8, count=n),
        "level": np.fromiter((_num(x) for x in c["level"]), dtype=float, count=n),
        "level2": np.fromiter((_num(x) for x in c["level2"]), dtype=float, count=n),
        "value": np.fromiter((_num(x) for x in c["value"]), dtype=float, count=n),
        "window": np.fromiter(((x or 0) * 60.0 for x in c["window_minutes"]), dtype=float, count=n),
        "bar": np.fromiter((float(x or 1) for x in c["bar_seconds"]), dtype=float, count=n),
        "cooldown": np.fromiter((float(x) for x in c["cooldown_seconds"]), dtype=float, count=n),
        "expires": np.where(np.isnan(expires), np.inf, expires),
        "armed": np.fromiter((_epoch(t) for t in c["armed_at"]), dtype=float, count=n),
        "fired_at": np.fromiter((_epoch(t) for t in c["last_fired_at"]), dtype=float, count=n),
        "fired_bar": np.fromiter((_epoch(t) for t in c["last_fired_bar"]), dtype=float, count=n),
    }


class AlertIndex:
    """Entries by instrument id; thread-safe for the feed's worker threads."""

    def __init__(self) -> None:
        self._entries: dict[int, Entry] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, instrument_ids: list[int], versions: dict[int, int]) -> dict[int, Entry]:
        """The entries of ``instrument_ids`` at ``versions`` (their ``AlertWatch.version``),
        loading the missing, stale and aged ones with one query."""
        max_age = float(settings.ALERTS.get("INDEX_MAX_AGE_SECONDS", 300))
        now = time.monotonic()
        with self._lock:
            found = {i: self._entries.get(i) for i in instrument_ids}
        stale = [
            i for i, e in found.items() if e is None or e.version != versions.get(i) or now - e.loaded_at > max_age
        ]
        if stale:
            by_instrument: dict[int, list[tuple]] = {i: [] for i in stale}
            for row in Alert.objects.filter(instrument_id__in=stale, state=Alert.State.ACTIVE).values_list(*FIELDS):
                by_instrument[row[1]].append(row)
            fresh = {i: Entry(versions.get(i, 0), now, _build(rows)) for i, rows in by_instrument.items()}
            with self._lock:
                self._entries.update(fresh)
            found.update(fresh)
        return found  # type: ignore[return-value]

    def warm(self) -> int:
        """Load every instrument that has an active alert (one query); returns the alerts loaded.
        Called at a feed's start so its first batches do not pay the loads."""
        by_instrument: dict[int, list[tuple]] = {}
        for row in Alert.objects.filter(state=Alert.State.ACTIVE).values_list(*FIELDS):
            by_instrument.setdefault(row[1], []).append(row)
        AlertWatch.objects.bulk_create(
            [AlertWatch(instrument_id=i) for i in by_instrument], ignore_conflicts=True, batch_size=1000
        )
        versions = dict(AlertWatch.objects.filter(pk__in=list(by_instrument)).values_list("instrument_id", "version"))
        now = time.monotonic()
        fresh = {i: Entry(versions.get(i, 0), now, _build(rows)) for i, rows in by_instrument.items()}
        with self._lock:
            self._entries.update(fresh)
        return sum(e.size for e in fresh.values())

    def invalidate(self, instrument_id: int) -> None:
        """Forget an instrument's entry (its alerts changed in this process)."""
        with self._lock:
            self._entries.pop(instrument_id, None)

    def set_version(self, instrument_id: int, version: int) -> None:
        with self._lock:
            e = self._entries.get(instrument_id)
            if e is not None:
                e.version = version


INDEX = AlertIndex()
