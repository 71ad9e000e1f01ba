"""core.timeparse: one meaning of a time a person types, and the parameters that use it."""

from datetime import UTC, datetime

import pytest

from core.timeparse import TimeParseError, parse_day, parse_moment


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("2025-06-17", {}, datetime(2025, 6, 16, 15, 0, tzinfo=UTC)),  # 00:00 KST
        ("2025-06-17", {"end_of_day": True}, datetime(2025, 6, 17, 15, 0, tzinfo=UTC)),  # next day's 00:00 KST
        ("2025-06-17T09:00:00+09:00", {}, datetime(2025, 6, 17, 0, 0, tzinfo=UTC)),
        ("2025-06-17T00:00:00Z", {"end_of_day": True}, datetime(2025, 6, 17, 0, 0, tzinfo=UTC)),  # only dates move
        ("1680652800.5", {"unix": True}, datetime(2023, 4, 5, 0, 0, 0, 500000, tzinfo=UTC)),
        ("2023-04-05T00:00:00", {"naive_utc": True}, datetime(2023, 4, 5, tzinfo=UTC)),
    ],
)
def test_parse_moment_reads_each_form(text, options, expected):
    assert parse_moment(text, **options) == expected


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("2025-06-17T09:00:00", {}, "has no UTC offset"),
        ("1680652800", {}, "is not a date"),  # unix seconds only where allowed
        ("2025-13-01", {}, "is not a date YYYY-MM-DD"),
        ("17.06.2025", {}, "is not a date"),
        ("9999-12-31T23:59:59Z", {}, "must lie between"),
        ("999999999999", {"unix": True}, "must lie between"),
    ],
)
def test_parse_moment_refuses_with_a_reason(text, options, message):
    with pytest.raises(TimeParseError, match=message):
        parse_moment(text, **options)


def test_parse_day_is_strict():
    assert str(parse_day(" 2025-06-17 ")) == "2025-06-17"
    with pytest.raises(TimeParseError):
        parse_day("2025-6-17")


@pytest.mark.django_db
def test_a_bare_date_is_a_seoul_day_in_the_candles_api_and_the_order_filter(auth_client):
    """The same text means the same instant in both places: 2025-06-17 = 2025-06-16T15:00Z."""
    ok = auth_client.get("/api/v1/orders/", {"created_after": "2025-06-17"})
    naive = auth_client.get("/api/v1/orders/", {"created_after": "2025-06-17T09:00:00"})

    assert ok.status_code == 200
    assert naive.status_code == 400
    assert "created_after" in naive.json()["error"]["fields"]
    assert "no UTC offset" in naive.json()["error"]["fields"]["created_after"][0]
