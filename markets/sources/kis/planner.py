"""KIS realtime registration planner (pure Python, no Django).

KIS allows at most ``MAX_REGISTRATIONS`` (41) realtime registrations per WebSocket session; a
registration is one ``(tr_id, tr_key)`` pair, e.g. ``("H0IFCNT0", "101W09")``. ``plan()`` spends
that budget, in priority order:

* **day** session (KRX derivatives 08:45-15:45 KST): the front-month future's executions
  ``H0IFCNT0`` and quotes ``H0IFASP0``; the front monthly options at the money +/- ``atm_strikes``
  strikes, calls and puts, executions ``H0IOCNT0`` (ATM = the front future's price rounded to the
  nearest 2.5 points; the strikes nearest the money come first when the budget is short); then
  KRX stocks (``H0STCNT0``) in the order given (most recently used first);
* **night** session (18:00-05:00 KST): the front future on the night market, ``H0MFCNT0`` and
  ``H0MFASP0``, and the options around the money on the night market, ``H0EUCNT0`` (tr_ids of the
  official column lists in ``../shared/data/kis/spec``); KRX stocks do not trade at night;
* **closed**: nothing.

Stocks beyond the budget come back in ``Plan.overflow`` (to be polled over REST). ``diff(old,
new)`` gives only what changes: ``(unsubscribe, subscribe)``, so a re-plan every 2 s sends a
handful of frames, never the whole set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

MAX_REGISTRATIONS = 41
STRIKE_STEP = Decimal("2.5")  # KOSPI200 option strike spacing, index points
DAY, NIGHT, CLOSED = "day", "night", "closed"

TR_IDS = {
    DAY: {"future_trade": "H0IFCNT0", "future_quote": "H0IFASP0", "option_trade": "H0IOCNT0"},
    NIGHT: {"future_trade": "H0MFCNT0", "future_quote": "H0MFASP0", "option_trade": "H0EUCNT0"},
}
STOCK_TRADE = "H0STCNT0"

Registration = tuple[str, str]  # (tr_id, tr_key)


@dataclass(frozen=True)
class Chain:
    """The front monthly option series: ``strikes`` maps strike (index points) -> (call code, put code);
    either code may be ``""`` when the master lists only one side."""

    strikes: Mapping[Decimal, tuple[str, str]]


@dataclass(frozen=True)
class Plan:
    """``registrations`` in priority order (at most the budget); ``atm`` the strike the options are
    centred on (``None`` without a future price); ``overflow`` stock codes left out for budget."""

    session: str
    registrations: tuple[Registration, ...]
    atm: Decimal | None = None
    overflow: tuple[str, ...] = field(default_factory=tuple)


def atm_strike(price: Decimal, step: Decimal = STRIKE_STEP) -> Decimal:
    """``price`` rounded to the nearest multiple of ``step`` (half up): 431.24 -> 430.0, 431.25 -> 432.5."""
    return (price / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def strikes_around(strikes: Iterable[Decimal], atm: Decimal, n: int) -> list[Decimal]:
    """The listed strikes within ``n`` steps of ``atm``, nearest first (ties: the lower first)."""
    low, high = atm - STRIKE_STEP * n, atm + STRIKE_STEP * n
    inside = [s for s in strikes if low <= s <= high]
    return sorted(inside, key=lambda s: (abs(s - atm), s))


def plan(
    *,
    session: str,
    future: str | None,
    future_price: Decimal | None,
    chain: Chain | None,
    stocks: Sequence[str] = (),
    atm_strikes: int = 5,
    budget: int = MAX_REGISTRATIONS,
) -> Plan:
    """The registrations for ``session`` (``day`` | ``night`` | ``closed``).

    ``future``: the front future's code (``None``: no future, no options); ``future_price`` its last
    price (``None``: options wait for the first execution); ``stocks``: KRX codes, most recently
    used first (duplicates dropped). ``budget`` is capped at ``MAX_REGISTRATIONS``. Raises
    ValueError for an unknown session or a negative ``atm_strikes``.
    """
    if session not in (DAY, NIGHT, CLOSED):
        raise ValueError(f"unknown session {session!r}; expected day, night or closed")
    if atm_strikes < 0:
        raise ValueError("atm_strikes must be >= 0")
    budget = max(0, min(budget, MAX_REGISTRATIONS))
    if session == CLOSED:
        return Plan(session=session, registrations=())
    tr = TR_IDS[session]
    wanted: list[Registration] = []
    atm = None
    if future:
        wanted += [(tr["future_trade"], future), (tr["future_quote"], future)]
        if future_price is not None and chain is not None and chain.strikes:
            atm = atm_strike(future_price)
            for strike in strikes_around(chain.strikes, atm, atm_strikes):
                wanted += [(tr["option_trade"], code) for code in chain.strikes[strike] if code]
    registrations = wanted[:budget]
    overflow: list[str] = []
    if session == DAY:
        seen: set[str] = set()
        for code in stocks:
            if code in seen:
                continue
            seen.add(code)
            if len(registrations) < budget:
                registrations.append((STOCK_TRADE, code))
            else:
                overflow.append(code)
    return Plan(session=session, registrations=tuple(registrations), atm=atm, overflow=tuple(overflow))


def diff(old: Iterable[Registration], new: Iterable[Registration]) -> tuple[list[Registration], list[Registration]]:
    """``(unsubscribe, subscribe)`` turning ``old`` into ``new``: unsubscribes in ``old``'s order,
    subscribes in ``new``'s (priority) order. Send the unsubscribes first so the session never
    holds more than ``max(len(old), len(new))`` registrations."""
    old, new = list(dict.fromkeys(old)), list(dict.fromkeys(new))
    old_set, new_set = set(old), set(new)
    return [r for r in old if r not in new_set], [r for r in new if r not in old_set]


DAY_SESSION = ((8, 45), (15, 45))  # KRX derivatives regular session, KST
NIGHT_SESSION = ((18, 0), (5, 0))  # KRX night session, KST, into the next calendar day


def derivatives_session(now, is_trading_day) -> str:
    """``day`` | ``night`` | ``closed`` for the tz-aware ``now``, by the KST clock.

    ``is_trading_day(date) -> bool`` (an XKRX session date, e.g. from exchange-calendars): the day
    session 08:45-15:45 runs on trading days; the night session 18:00-05:00 belongs to the trading
    day it starts on (so 02:00 on a Saturday after a Friday session is still night)."""
    from datetime import timedelta

    from .recording import KST

    local = now.astimezone(KST)
    minutes = local.hour * 60 + local.minute
    (dh0, dm0), (dh1, dm1) = DAY_SESSION
    (nh0, nm0), (nh1, nm1) = NIGHT_SESSION
    if dh0 * 60 + dm0 <= minutes < dh1 * 60 + dm1 and is_trading_day(local.date()):
        return DAY
    if minutes >= nh0 * 60 + nm0 and is_trading_day(local.date()):
        return NIGHT
    if minutes < nh1 * 60 + nm1 and is_trading_day(local.date() - timedelta(days=1)):
        return NIGHT
    return CLOSED
