"""KRX trading sessions, from exchange-calendars' ``XKRX`` calendar. No Django.

Every "t + 5" in this app counts sessions of this calendar, never calendar days: 2025-05-02 + 1
session is 2025-05-07 (Children's Day and the Buddha's Birthday substitute holiday lie between).
Dates are ``datetime.date`` session dates in Asia/Seoul.

exchange-calendars builds a calendar from ``start`` (by default 20 years before today) to about a
year after today, so the start is pinned here: the answer for a given date must not depend on the
day the code runs. A date outside the calendar raises ``ValueError``.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from markets.calendars import CALENDAR, CALENDAR_START, krx_calendar  # noqa: F401  (the one pinned XKRX calendar)


def _day(value: date | str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value).normalize().tz_localize(None)


def _check_in_range(day: pd.Timestamp) -> None:
    cal = krx_calendar()
    if not cal.first_session <= day <= cal.last_session:
        raise ValueError(
            f"{day.date()} is outside the KRX calendar ({cal.first_session.date()} .. {cal.last_session.date()})"
        )


def is_session(day: date | str) -> bool:
    """True when ``day`` is a KRX trading day."""
    ts = _day(day)
    _check_in_range(ts)
    return bool(krx_calendar().is_session(ts))


def sessions_between(start: date | str, end: date | str) -> list[date]:
    """KRX sessions from ``start`` to ``end``, both inclusive, ascending (empty when none)."""
    first, last = _day(start), _day(end)
    if first > last:
        return []
    _check_in_range(first)
    _check_in_range(last)
    return [ts.date() for ts in krx_calendar().sessions_in_range(first, last)]


def session_offset(day: date | str, count: int) -> date:
    """The session ``count`` sessions after (``count`` < 0: before) the session ``day``.

    Raises ``ValueError`` when ``day`` is not a session or the result leaves the calendar.
    """
    ts = _day(day)
    if not is_session(ts):
        raise ValueError(f"{ts.date()} is not a KRX session")
    try:
        return krx_calendar().session_offset(ts, count).date()
    except Exception as exc:  # exchange-calendars raises its own errors past either end
        raise ValueError(f"{ts.date()} {count:+d} sessions is outside the KRX calendar") from exc


def session_on_or_before(day: date | str) -> date:
    """``day`` when it is a session, else the last session before it (a Saturday -> Friday)."""
    ts = _day(day)
    _check_in_range(ts)
    return krx_calendar().date_to_session(ts, direction="previous").date()


def session_on_or_after(day: date | str) -> date:
    """``day`` when it is a session, else the first session after it."""
    ts = _day(day)
    _check_in_range(ts)
    return krx_calendar().date_to_session(ts, direction="next").date()
