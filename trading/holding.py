"""How long a lot has been held: its day, the closes after its buy, its exit time. No Django.

A lot's **day** is the KRX session its buy belongs to (the latest session whose open is at or
before the fill; XKRX, ``markets.calendars``) or, for crypto, the exchange's day that the fill
falls in, counted from the day boundary (``TRADING["BOT_DAY_BOUNDARY"]``, Asia/Seoul; the
bots' setting, so a bot's strategy day and its lots' days agree).

Its **closes** are the session closes (KRX) or day boundaries (crypto) strictly after the fill:
the first is the close of the buy's own session when bought during it. A lot held for N
sessions exits at its Nth close. All times are tz-aware; dates are Seoul dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import numpy as np

from markets.calendars import SEOUL, krx_calendar, krx_session_dates, krx_session_opens


@dataclass(frozen=True)
class Close:
    """One close after a lot's buy: the session (or crypto day) ``day`` and when it ended."""

    day: date
    at: datetime


def _utc64(at: datetime) -> np.datetime64:
    return np.datetime64(at.astimezone(UTC).replace(tzinfo=None), "ns")


@lru_cache(maxsize=1)
def krx_session_closes() -> np.ndarray:
    """The close of each XKRX session (aligned with ``krx_session_dates``): datetime64[ns], UTC."""
    return krx_calendar().closes.values.astype("datetime64[ns]")


def krx_lot_day(at: datetime) -> date:
    """The KRX session a fill at ``at`` belongs to: the latest session opened at or before it
    (a fill before the calendar's first open belongs to the first session)."""
    opens = krx_session_opens()
    index = max(int(np.searchsorted(opens, _utc64(at), side="right")) - 1, 0)
    return krx_session_dates()[index].item()


def crypto_lot_day(at: datetime, boundary: time) -> date:
    """The crypto day of ``at``: its Seoul date, shifted back when before the day boundary."""
    local = at.astimezone(SEOUL)
    return (local - timedelta(hours=boundary.hour, minutes=boundary.minute)).date()


def krx_closes_after(at: datetime, count: int) -> list[Close]:
    """The first ``count`` KRX session closes strictly after ``at`` (fewer at the calendar's end)."""
    closes = krx_session_closes()
    index = int(np.searchsorted(closes, _utc64(at), side="right"))
    dates = krx_session_dates()
    out = []
    for i in range(index, min(index + count, len(closes))):
        when = closes[i].astype("datetime64[us]").item().replace(tzinfo=UTC)
        out.append(Close(day=dates[i].item(), at=when))
    return out


def crypto_closes_after(at: datetime, count: int, boundary: time) -> list[Close]:
    """The first ``count`` crypto day boundaries strictly after ``at``; each ends the day named."""
    day = crypto_lot_day(at, boundary)
    return [
        Close(day=day + timedelta(days=k), at=datetime.combine(day + timedelta(days=k + 1), boundary, tzinfo=SEOUL))
        for k in range(count)
    ]


def closes_after(*, market: str, at: datetime, count: int, boundary: time) -> list[Close]:
    """``krx_closes_after`` for ``market == "krx"``, else ``crypto_closes_after``."""
    if market == "krx":
        return krx_closes_after(at, count)
    return crypto_closes_after(at, count, boundary)


def lot_day(*, market: str, at: datetime, boundary: time) -> date:
    return krx_lot_day(at) if market == "krx" else crypto_lot_day(at, boundary)


def closes_between(*, market: str, start: datetime, end: datetime, boundary: time) -> int:
    """How many closes (KRX session closes, crypto day boundaries) fall in ``(start, end]``:
    the sessions a lot bought at ``start`` has been held for at ``end``."""
    if end <= start:
        return 0
    if market == "krx":
        closes = krx_session_closes()
        return int(np.searchsorted(closes, _utc64(end), side="right")) - int(
            np.searchsorted(closes, _utc64(start), side="right")
        )
    first = crypto_lot_day(start, boundary)
    last = crypto_lot_day(end, boundary)
    return max((last - first).days, 0)


def krx_next_open(at: datetime) -> datetime:
    """The open of the first KRX session opening after ``at`` (UTC, aware)."""
    opens = krx_session_opens()
    index = int(np.searchsorted(opens, _utc64(at), side="right"))
    if index >= len(opens):
        raise ValueError(f"the XKRX calendar has no session after {at.isoformat()}")
    return opens[index].astype("datetime64[us]").item().replace(tzinfo=UTC)
