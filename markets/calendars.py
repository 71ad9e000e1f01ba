"""The one KRX calendar of the project and the Seoul zone. No Django.

``krx_calendar()`` is exchange-calendars' ``XKRX`` calendar built once per process (~1 s; the
import alone ~0.5 s, so it happens on first use). Its start is pinned to ``CALENDAR_START``:
exchange-calendars would otherwise start 20 years before the day the code runs, and an answer for
a given date must not depend on that day. The end is the library default (about a year after
today). Times in and out are tz-aware; session dates are Seoul dates.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from core.timeparse import SEOUL

CALENDAR = "XKRX"
# Well before any KRX data this project holds (the recorded set starts 2023-12-05).
CALENDAR_START = "2000-01-04"


@lru_cache(maxsize=1)
def krx_calendar():
    """The ``XKRX`` exchange_calendars calendar from ``CALENDAR_START`` (cached per process)."""
    import exchange_calendars as xcals

    return xcals.get_calendar(CALENDAR, start=CALENDAR_START)


def krx_is_open(at: datetime) -> bool:
    """True when ``at`` (tz-aware) is inside a KRX regular session (09:00-15:30 KST)."""
    import pandas as pd

    cal = krx_calendar()
    minute = pd.Timestamp(at).tz_convert("UTC").floor("min")
    if minute < cal.first_minute or minute > cal.last_minute:
        return False
    return bool(cal.is_open_on_minute(minute))


def krx_session_close(at: datetime) -> datetime:
    """The close (UTC, tz-aware) of the KRX session open at ``at``, or else of the next session."""
    import pandas as pd

    cal = krx_calendar()
    ts = pd.Timestamp(at).tz_convert("UTC")
    if krx_is_open(at):
        session = cal.minute_to_session(ts.floor("min"))
    else:
        session = cal.date_to_session(ts.tz_convert(SEOUL).normalize().tz_localize(None), direction="next")
        if cal.session_close(session) <= ts:
            session = cal.next_session(session)
    return cal.session_close(session).to_pydatetime()


@lru_cache(maxsize=1)
def krx_session_dates():
    """Every XKRX session date the calendar knows: numpy datetime64[D], ascending."""
    return krx_calendar().sessions.values.astype("datetime64[D]")


@lru_cache(maxsize=1)
def krx_session_opens():
    """The open of each XKRX session (aligned with ``krx_session_dates``): numpy datetime64[ns], UTC."""
    return krx_calendar().opens.values.astype("datetime64[ns]")
