"""One meaning of a time typed by a person, for every API parameter and command option. No Django.

- ``2025-06-17`` (a bare date) is that **Asia/Seoul calendar day**: its start, 00:00 KST
  (2025-06-16T15:00:00Z); as an inclusive end (``end_of_day=True``) the start of the next day,
  so ``start <= t < end`` covers the whole day.
- An ISO 8601 datetime **with an offset** (``2025-06-17T09:00:00+09:00``, ``...Z``) is taken
  as given.
- An ISO 8601 datetime **without an offset** is refused: ``2025-06-17T09:00`` means 09:00 in
  Seoul to one reader and in UTC to another. One documented exception (``naive_utc=True``): the
  taker-volume API, the CryptoQuant-style metric whose rows are UTC minutes and whose contract
  has always read an offset-less time as UTC.
- Unix seconds (``1680652800``, ``1680652800.5``) where the caller allows them (``unix=True``:
  the taker-volume API and ETL, whose rows are UTC minutes).

Every parser returns a tz-aware UTC ``datetime`` inside ``[MIN_MOMENT, MAX_MOMENT]`` (the range
where day and hour arithmetic cannot overflow) or raises ``TimeParseError`` (a ``ValueError``)
with a message fit for the 400 or the command line.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")  # the platform's zone: KRX sessions, bare dates, what pages show
MIN_MOMENT = datetime(1900, 1, 2, tzinfo=UTC)
MAX_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNIX = re.compile(r"^\d{1,12}(\.\d{1,6})?$")


class TimeParseError(ValueError):
    """The text is not a time in the accepted forms, or lies outside the bounds."""


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` -> ``date``; ``TimeParseError`` otherwise."""
    text = str(text).strip()
    if not _DAY.match(text):
        raise TimeParseError(f"{text!r} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TimeParseError(f"{text!r} is not a date YYYY-MM-DD") from None


def day_start(day: date) -> datetime:
    """00:00 Asia/Seoul of ``day``, in UTC."""
    return datetime.combine(day, time.min, tzinfo=SEOUL).astimezone(UTC)


def parse_moment(
    text: str,
    *,
    end_of_day: bool = False,
    unix: bool = False,
    naive_utc: bool = False,
    lower: datetime = MIN_MOMENT,
    upper: datetime = MAX_MOMENT,
) -> datetime:
    """A bare date (an Asia/Seoul day; with ``end_of_day`` the start of the next one), an ISO
    8601 datetime with an offset (without one: refused, or UTC with ``naive_utc``), or
    (``unix=True``) unix seconds -> tz-aware UTC ``datetime`` in ``[lower, upper]``. Raises ``TimeParseError`` naming what is accepted."""
    text = str(text).strip()
    accepted = "a date YYYY-MM-DD (a Seoul day) or an ISO 8601 datetime with an offset, e.g. 2025-06-17T09:00:00+09:00"
    if unix:
        accepted += ", or unix seconds"
    try:
        if _DAY.match(text):
            day = parse_day(text)
            moment = day_start(day + timedelta(days=1) if end_of_day else day)
        elif unix and _UNIX.match(text):
            seconds = Decimal(text)
            if not lower.timestamp() <= seconds <= upper.timestamp():
                raise TimeParseError(f"must lie between {lower:%Y-%m-%d} and {upper:%Y-%m-%d}")
            moment = datetime.fromtimestamp(int(seconds), UTC).replace(microsecond=int((seconds % 1) * 1_000_000))
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
            if moment.tzinfo is None and naive_utc:
                moment = moment.replace(tzinfo=UTC)
            if moment.tzinfo is None:
                raise TimeParseError(f"{text!r} has no UTC offset: use {accepted}")
            moment = moment.astimezone(UTC)
    except TimeParseError:
        raise
    except (ValueError, OverflowError, OSError, InvalidOperation):
        raise TimeParseError(f"{text!r} is not {accepted}") from None
    if not lower <= moment <= upper:
        raise TimeParseError(f"must lie between {lower:%Y-%m-%d} and {upper:%Y-%m-%d}")
    return moment
