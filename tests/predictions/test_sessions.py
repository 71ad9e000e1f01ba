"""Session arithmetic on the XKRX calendar: holidays are skipped, calendar days never count."""

from datetime import date

import pytest

from predictions.sessions import is_session, session_offset, session_on_or_after, session_on_or_before, sessions_between


def test_five_sessions_after_2025_05_02_skip_childrens_day_and_the_buddhas_birthday_holiday():
    # 05-05 Children's Day and Buddha's Birthday, 05-06 substitute holiday
    assert session_offset(date(2025, 5, 2), 1) == date(2025, 5, 7)
    assert session_offset(date(2025, 5, 2), 5) == date(2025, 5, 13)
    assert session_offset(date(2025, 5, 13), -5) == date(2025, 5, 2)


def test_seollal_2025_and_the_2025_presidential_election_are_not_sessions():
    assert session_offset(date(2025, 1, 24), 1) == date(2025, 1, 31)  # 01-27 temporary holiday, 01-28..30 Seollal
    assert not is_session(date(2025, 6, 3))
    assert session_offset(date(2025, 6, 2), 1) == date(2025, 6, 4)


def test_the_recorded_krx_file_trades_on_exactly_the_calendar_sessions(top50_frame):
    recorded = sorted({d.date() for d in top50_frame["date"]})

    assert recorded == sessions_between(date(2023, 12, 5), date(2025, 6, 17))
    assert len(recorded) == 370


def test_a_weekend_rolls_to_the_adjacent_session_and_offsets_need_a_session():
    assert session_on_or_before(date(2025, 6, 14)) == date(2025, 6, 13)  # Saturday -> Friday
    assert session_on_or_after(date(2025, 6, 14)) == date(2025, 6, 16)
    with pytest.raises(ValueError, match="2025-06-14 is not a KRX session"):
        session_offset(date(2025, 6, 14), 1)


def test_dates_outside_the_calendar_are_refused():
    with pytest.raises(ValueError, match="outside the KRX calendar"):
        is_session(date(1999, 1, 4))
