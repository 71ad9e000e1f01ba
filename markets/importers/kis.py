"""KIS futures/options master files (KOSPI200 futures and options as instruments) and the
KOSPI200 expiry rules.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pandas as pd

from markets.importers.base import (
    BLANK,
    ParsedInstruments,
    _csv_rows,
    _decimal,
    _fail,
    _read_csv,
)
from markets.sources.base import InstrumentInfo

# -- KIS futures/options masters ----------------------------------------------------------------

# 상품종류 (product type) -> (kind, right) for the KOSPI200 products imported; other products of
# the masters (mini, KOSDAQ150, sector futures, spreads, VKOSPI...) are skipped and counted.
KIS_FO_PRODUCTS = {
    "1": ("future", ""),  # KOSPI200 futures, "F 202509"
    "5": ("option", "call"),  # KOSPI200 monthly call, "C 202508 430.0"
    "6": ("option", "put"),
    "L": ("option", "call"),  # KOSPI200 Thursday weekly, "위클리C 2507W3 382.5"
    "M": ("option", "put"),
    "N": ("option", "call"),  # KOSPI200 Monday weekly, "위클리M C 2507W3 387.5"
    "O": ("option", "put"),
}
KOSPI200_MULTIPLIER = Decimal(250_000)  # KRW per index point (futures and options)
KOSPI200_FUTURE_TICK = Decimal("0.05")
KOSPI200_OPTION_TICK = Decimal("0.01")  # 0.01 below 10 points, 0.05 from 10 points: the smallest step
_FO_MONTHLY = re.compile(r"^(?:F|C|P) (\d{4})(\d{2})(?: [0-9.,]+)?$")
_FO_WEEKLY = re.compile(r"^위클리(M )?[CP] (\d{2})(\d{2})W([1-5]) [0-9.,]+$")
_FO_CODE = re.compile(r"^[0-9A-Z]{6}(?:[0-9A-Z]{3})?$")


@lru_cache(maxsize=1)
def _xkrx():
    import exchange_calendars

    return exchange_calendars.get_calendar("XKRX", start="2000-01-01", end="2030-12-31")


def krx_previous_business_day_if_closed(day: date) -> date:
    """``day`` if it is an XKRX session (exchange_calendars), else the session before it.

    Raises ValueError outside the calendar range (2000-2030)."""
    cal = _xkrx()
    when = pd.Timestamp(day)
    if when < cal.first_session or when > cal.last_session:
        raise ValueError(f"{day} is outside the XKRX calendar range")
    return day if cal.is_session(when) else cal.date_to_session(when, direction="previous").date()


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Monday 0 .. Sunday 6) of the month; ValueError if it does not exist."""
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    if day.month != month:
        raise ValueError(f"no weekday {weekday} number {n} in {year}-{month:02d}")
    return day


def kospi200_expiry(name: str) -> date:
    """Last trading day from a master name (한글종목명).

    Monthly futures and options ("F 202509", "C 202508 430.0"): the second Thursday of the
    month. Weeklies by their own code: "위클리C 2507W3 382.5" = the 3rd Thursday of 2025-07,
    "위클리M C 2507W3 387.5" = the 3rd Monday. An XKRX holiday moves the day to the business day
    before (the KRX rule). Raises ValueError on any other name.
    """
    if match := _FO_MONTHLY.match(name):
        year, month = int(match[1]), int(match[2])
        return krx_previous_business_day_if_closed(nth_weekday(year, month, 3, 2))
    if match := _FO_WEEKLY.match(name):
        monday, year, month, week = bool(match[1]), 2000 + int(match[2]), int(match[3]), int(match[4])
        return krx_previous_business_day_if_closed(nth_weekday(year, month, 0 if monday else 3, week))
    raise ValueError(f"name {name!r} is neither 'F|C|P YYYYMM [strike]' nor a weekly '위클리[M ]C|P YYMMWn strike'")


def parse_kis_fo_master(path: Path | str, *, exchange: str | None = None) -> ParsedInstruments:
    """A KIS futures/options master CSV (``fo_idx_code_mts.csv``, ``fo_eurex_code.csv``,
    ``fo_cme_code.csv``: 상품종류, 단축코드, 표준코드, 한글종목명, [ATM구분], 행사가, ...,
    기초자산 명) -> KOSPI200 futures and options (``KIS_FO_PRODUCTS``), market ``krx_derivatives``.

    symbol = 단축코드 ("101W09", "201W08450"), base = underlying = "KOSPI200",
    quote KRW, name_ko = name_en = 한글종목명 (searchable: "F 202509", "C 202508 450.0"), expiry by
    ``kospi200_expiry``, strike = 행사가 for options (the CME master puts a sequence number in that
    column for futures: ignored), multiplier 250,000 KRW per point, tick 0.05 futures / 0.01 options,
    lot 1 contract. Other products and underlyings are skipped and counted; a malformed row of an
    imported product raises ImportFormatError naming the line.
    """
    path = Path(path)
    if exchange not in (None, "krx"):
        raise ValueError("kis_fo_master lists KRX derivatives; exchange must be krx")
    df = _read_csv(path, ["상품종류", "단축코드", "한글종목명", "행사가", "기초자산 명"])
    out = ParsedInstruments(source=str(path))
    rows = list(_csv_rows(df, ["상품종류", "단축코드", "한글종목명", "행사가", "기초자산 명"]))
    if len(df) > len(rows):
        out.skipped[BLANK] = len(df) - len(rows)
    seen: dict[str, str] = {}
    for where, (product, code, name, strike_text, underlying) in rows:
        out.rows += 1
        if product not in KIS_FO_PRODUCTS or underlying != "KOSPI200":
            out.skipped["not a KOSPI200 future or option (mini, KOSDAQ150, sector, spread, VKOSPI...)"] += 1
            continue
        kind, right = KIS_FO_PRODUCTS[product]
        if not _FO_CODE.match(code) or len(code) != (6 if kind == "future" else 9):
            raise _fail(str(path), where, f"단축코드 {code!r} is not a KRX {kind} short code")
        if code in seen:
            raise _fail(str(path), where, f"단축코드 {code} already listed on {seen[code]}")
        seen[code] = where
        try:
            expiry = kospi200_expiry(name)
        except ValueError as exc:
            raise _fail(str(path), where, str(exc)) from exc
        strike = None
        if kind == "option":
            strike = _decimal(str(path), where, "행사가", strike_text)
            if strike <= 0:
                raise _fail(str(path), where, f"행사가 {strike_text!r} must be positive")
        out.instruments.append(
            InstrumentInfo(
                exchange="krx",
                symbol=code,
                base="KOSPI200",
                quote="KRW",
                market="krx_derivatives",
                name_ko=name,
                name_en=name,
                lot_size=Decimal(1),
                tick_size=KOSPI200_FUTURE_TICK if kind == "future" else KOSPI200_OPTION_TICK,
                kind=kind,
                underlying="KOSPI200",
                expiry=expiry,
                strike=strike,
                right=right,
                multiplier=KOSPI200_MULTIPLIER,
            )
        )
    return out
