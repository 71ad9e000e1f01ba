"""The KIS registration planner: budget, priorities, the ATM shift difference, the session clock.

The chain is a grid of 2.5-point strikes with codes in the masters' pattern (call ``201W08430``,
put ``301W08430``): planner inputs, not market data.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from markets.sources.kis import planner
from markets.sources.kis.planner import MAX_REGISTRATIONS, Chain, atm_strike, diff, plan

SEOUL = ZoneInfo("Asia/Seoul")


def chain(low="380", high="480") -> Chain:
    strikes = {}
    strike = Decimal(low)
    while strike <= Decimal(high):
        code = f"{int(strike):03d}"
        strikes[strike] = (f"201W08{code}", f"301W08{code}")
        strike += Decimal("2.5")
    return Chain(strikes=strikes)


def options(registrations):
    return [r for r in registrations if r[0] in ("H0IOCNT0", "H0EUCNT0")]


@pytest.mark.parametrize(
    ("price", "atm"),
    [("430.65", "430.0"), ("431.24", "430.0"), ("431.25", "432.5"), ("432.40", "432.5"), ("428.74", "427.5")],
)
def test_atm_is_the_future_price_rounded_to_two_and_a_half_points(price, atm):
    assert atm_strike(Decimal(price)) == Decimal(atm)


def test_day_plan_front_future_then_options_nearest_first_then_stocks_mru():
    result = plan(
        session="day",
        future="101W09",
        future_price=Decimal("430.65"),
        chain=chain(),
        stocks=["005930", "000660", "005930", "035420"],
    )
    regs = list(result.registrations)
    assert regs[:2] == [("H0IFCNT0", "101W09"), ("H0IFASP0", "101W09")]
    assert result.atm == Decimal("430.0")
    opts = options(regs)
    assert len(opts) == 22  # 11 strikes (430 +/- 5 x 2.5) x call and put
    assert opts[:2] == [("H0IOCNT0", "201W08430"), ("H0IOCNT0", "301W08430")]  # at the money first
    strikes = {Decimal(code[-3:]) for _, code in opts}
    assert min(strikes) == Decimal("417") and max(strikes) == Decimal("442")  # 417.5 .. 442.5 (codes truncate)
    assert regs[24:] == [("H0STCNT0", "005930"), ("H0STCNT0", "000660"), ("H0STCNT0", "035420")]  # MRU, no dups
    assert result.overflow == ()


def test_atm_430_to_432_5_gives_exactly_the_difference():
    stocks = [f"{n:06d}" for n in range(100, 130)]  # 30 stocks: more than the budget leaves
    before = plan(session="day", future="101W09", future_price=Decimal("430.10"), chain=chain(), stocks=stocks)
    after = plan(session="day", future="101W09", future_price=Decimal("432.60"), chain=chain(), stocks=stocks)
    assert (before.atm, after.atm) == (Decimal("430.0"), Decimal("432.5"))
    unsubscribe, subscribe = diff(before.registrations, after.registrations)
    assert unsubscribe == [("H0IOCNT0", "201W08417"), ("H0IOCNT0", "301W08417")]  # 417.5 leaves the window
    assert subscribe == [("H0IOCNT0", "201W08445"), ("H0IOCNT0", "301W08445")]  # 445.0 enters it
    assert len(before.registrations) == len(after.registrations) == MAX_REGISTRATIONS
    assert before.overflow == after.overflow == tuple(stocks[17:])  # 41 - 2 futures - 22 options = 17 stocks


def test_same_plan_twice_is_no_difference():
    one = plan(session="day", future="101W09", future_price=Decimal("430"), chain=chain(), stocks=["005930"])
    assert diff(one.registrations, one.registrations) == ([], [])


@pytest.mark.parametrize("n", [0, 5, 10, 19, 20, 40])
@pytest.mark.parametrize("stocks", [0, 1, 17, 60])
def test_budget_is_never_exceeded(n, stocks):
    result = plan(
        session="day",
        future="101W09",
        future_price=Decimal("430"),
        chain=chain("300", "560"),
        stocks=[f"{i:06d}" for i in range(stocks)],
        atm_strikes=n,
    )
    assert len(result.registrations) <= MAX_REGISTRATIONS
    assert len(set(result.registrations)) == len(result.registrations)
    assert result.registrations[:2] == (("H0IFCNT0", "101W09"), ("H0IFASP0", "101W09"))
    in_plan = sum(1 for r in result.registrations if r[0] == "H0STCNT0")
    assert in_plan + len(result.overflow) == stocks
    # an asked-for smaller budget is honoured, a larger one capped at 41
    assert len(plan(session="day", future="101W09", future_price=None, chain=None, budget=100).registrations) == 2


def test_options_wait_for_a_future_price():
    result = plan(session="day", future="101W09", future_price=None, chain=chain(), stocks=["005930"])
    assert result.registrations == (("H0IFCNT0", "101W09"), ("H0IFASP0", "101W09"), ("H0STCNT0", "005930"))


def test_night_plan_uses_the_night_tr_ids_and_no_stocks():
    result = plan(session="night", future="101W09", future_price=Decimal("344.20"), chain=chain("300", "400"))
    tr_ids = [tr for tr, _ in result.registrations]
    assert tr_ids[:2] == ["H0MFCNT0", "H0MFASP0"]
    assert set(tr_ids[2:]) == {"H0EUCNT0"} and len(tr_ids) == 24
    assert plan(session="night", future="101W09", future_price=None, chain=None, stocks=["005930"]).overflow == ()


def test_every_planned_tr_id_has_an_official_column_list():
    from pathlib import Path

    from django.conf import settings

    spec_file = Path(settings.MARKETS["SHARED_DATA_DIR"]) / "kis" / "spec" / "kis_realtime_fields.json"
    if not spec_file.exists():
        pytest.skip("../shared/data/kis absent: the column lists are unlicensed and not shipped")
    from markets.sources.kis.frames import load_spec

    spec = load_spec(spec_file)
    used = {tr for session in planner.TR_IDS.values() for tr in session.values()} | {planner.STOCK_TRADE}
    assert used <= set(spec)


def test_closed_and_bad_input():
    assert plan(session="closed", future="101W09", future_price=Decimal("430"), chain=chain()).registrations == ()
    with pytest.raises(ValueError, match="unknown session"):
        plan(session="evening", future=None, future_price=None, chain=None)
    with pytest.raises(ValueError, match="atm_strikes"):
        plan(session="day", future=None, future_price=None, chain=None, atm_strikes=-1)


TRADING_DAYS = {date(2025, 7, 17), date(2025, 7, 18)}  # Thursday, Friday; the weekend is closed


@pytest.mark.parametrize(
    ("local", "session"),
    [
        ((2025, 7, 18, 8, 44), "closed"),
        ((2025, 7, 18, 8, 45), "day"),
        ((2025, 7, 18, 15, 44), "day"),
        ((2025, 7, 18, 15, 45), "closed"),
        ((2025, 7, 18, 17, 59), "closed"),
        ((2025, 7, 18, 18, 0), "night"),
        ((2025, 7, 19, 2, 0), "night"),  # Saturday 02:00: Friday's night session
        ((2025, 7, 19, 5, 0), "closed"),
        ((2025, 7, 19, 10, 0), "closed"),  # Saturday
        ((2025, 7, 19, 18, 30), "closed"),
        ((2025, 7, 20, 2, 0), "closed"),
    ],
)
def test_session_by_the_clock(local, session):
    now = datetime(*local, tzinfo=SEOUL)
    assert planner.derivatives_session(now, TRADING_DAYS.__contains__) == session
