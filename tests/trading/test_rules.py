"""Exchange rules checked against real recorded prices and the real KRX calendar."""

import csv
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from trading import rules

SEOUL = ZoneInfo("Asia/Seoul")
TOP20 = settings.MARKETS["DATA_DIR"] / "coins_intraday" / "upbit_KRW_15min_20coins_2026-06-28_1700-2245KST.csv"


def test_every_recorded_upbit_krw_price_is_on_the_upbit_tick_table():
    with TOP20.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    off = [
        (row["market"], row["candle_open_kst"], field, row[field])
        for row in rows
        for field in ("open", "high", "low", "close")
        if not rules.is_multiple(
            Decimal(row[field]), rules.tick_size(exchange="upbit", quote="KRW", price=Decimal(row[field]))
        )
    ]

    assert len(rows) == 480
    assert off == []


@pytest.mark.parametrize(
    "price, tick",
    [("1999", "1"), ("2000", "5"), ("71200", "100"), ("199900", "100"), ("200000", "500"), ("876000", "1000")],
)
def test_krx_tick_bands(price, tick):
    assert rules.tick_size(exchange="krx", quote="KRW", price=Decimal(price)) == Decimal(tick)


def test_an_instruments_own_tick_wins_over_the_table():
    assert rules.tick_size(
        exchange="krx", quote="KRW", price=Decimal("71200"), instrument_tick=Decimal("50")
    ) == Decimal("50")
    assert rules.tick_size(exchange="bithumb", quote="KRW", price=Decimal("100")) is None


def test_market_fill_price_moves_against_the_taker_onto_the_tick():
    last = Decimal("91291000")

    buy = rules.market_fill_price(last=last, side="buy", slippage_bps=Decimal("5"), tick=Decimal("1000"))
    sell = rules.market_fill_price(last=last, side="sell", slippage_bps=Decimal("5"), tick=Decimal("1000"))

    assert (buy, sell) == (Decimal("91337000"), Decimal("91245000"))


@pytest.mark.parametrize(
    "local, is_open",
    [
        (datetime(2025, 6, 17, 8, 59), False),
        (datetime(2025, 6, 17, 9, 0), True),
        (datetime(2025, 6, 17, 15, 29), True),
        (datetime(2025, 6, 17, 15, 30), False),
        (datetime(2025, 6, 15, 10, 0), False),  # Sunday
        (datetime(2025, 6, 3, 10, 0), False),  # presidential election day, a KRX holiday
        (datetime(2025, 6, 6, 10, 0), False),  # Memorial Day
    ],
)
def test_krx_session_follows_the_exchange_calendar(local, is_open):
    assert rules.krx_is_open(local.replace(tzinfo=SEOUL)) is is_open


def test_krx_session_close_skips_holidays():
    close = rules.krx_session_close(datetime(2025, 6, 2, 16, 0, tzinfo=SEOUL))  # after Monday's close

    assert close.astimezone(SEOUL) == datetime(2025, 6, 4, 15, 30, tzinfo=SEOUL)  # 06-03 was closed


def test_crypto_day_ends_at_midnight_seoul():
    assert rules.crypto_day_end(datetime(2026, 6, 28, 23, 59, tzinfo=SEOUL)) == datetime(
        2026, 6, 29, 0, 0, tzinfo=SEOUL
    )
    assert rules.crypto_day_end(datetime(2026, 6, 29, 0, 0, tzinfo=SEOUL)) == datetime(2026, 6, 30, 0, 0, tzinfo=SEOUL)
