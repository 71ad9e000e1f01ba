"""Alert conditions, evaluated vectorized over many alerts for one batch of prices (pure: numpy only).

Shapes: every argument of :func:`evaluate` is a 1-D array of length ``n`` (one row per alert).
Prices are floats in the instrument's quote currency (KRW for Upbit and KRX). A missing
``previous`` or ``reference`` price is ``NaN``; a condition that needs it then never fires, so
``crossing*`` and the ``entering``/``exiting`` channel conditions never fire at creation (no
previous observed price yet), and ``moving_*`` needs a reference price from its window.

Conditions (the TradingView alert model):

- ``crossing``: ``previous < level <= price`` or ``previous > level >= price``;
  ``crossing_up`` only the first, ``crossing_down`` only the second.
- ``greater_than`` / ``less_than``: ``price > level`` / ``price < level`` (a state: true on every
  update while it holds; the trigger mode decides how often that fires).
- channel of ``lo = min(level, level2)``, ``hi = max(level, level2)``, inside meaning
  ``lo <= p <= hi``: ``inside_channel`` / ``outside_channel`` (states), ``entering_channel``
  (previous outside, now inside), ``exiting_channel`` (previous inside, now outside).
- ``moving_up`` / ``moving_down``: ``price - reference >= value`` / ``reference - price >= value``
  where ``reference`` is the price observed at the start of the window of ``window_minutes``
  (see :func:`window_reference`); ``moving_up_pct`` / ``moving_down_pct`` the same in percent
  of ``reference`` (``value`` 3 means 3 %).

Errors: an unknown condition name raises ``ValueError`` (see :func:`codes`).
"""

from __future__ import annotations

import numpy as np

CONDITIONS = (
    "crossing",
    "crossing_up",
    "crossing_down",
    "greater_than",
    "less_than",
    "entering_channel",
    "exiting_channel",
    "inside_channel",
    "outside_channel",
    "moving_up",
    "moving_down",
    "moving_up_pct",
    "moving_down_pct",
)
CODE = {name: i for i, name in enumerate(CONDITIONS)}
CHANNEL = frozenset({"entering_channel", "exiting_channel", "inside_channel", "outside_channel"})
MOVING = frozenset({"moving_up", "moving_down", "moving_up_pct", "moving_down_pct"})
NEEDS_LEVEL = frozenset(CONDITIONS) - MOVING
NEEDS_VALUE = MOVING


def codes(names) -> np.ndarray:
    """Condition names -> int codes (shape (n,)); ``ValueError`` naming an unknown one."""
    try:
        return np.fromiter((CODE[name] for name in names), dtype=np.int8)
    except KeyError as exc:
        raise ValueError(f"unknown condition {exc.args[0]!r}") from None


def _f(x, n: int) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return np.broadcast_to(a, (n,)) if a.ndim == 0 else a


def evaluate(condition, price, previous, level=np.nan, level2=np.nan, value=np.nan, reference=np.nan) -> np.ndarray:
    """Which alerts' conditions hold now: a bool array of shape (n,).

    ``condition``: int codes (from :func:`codes`) or names; ``price``: the price of this batch
    for each alert's instrument; ``previous``: the previous observed price (NaN if none);
    ``level``/``level2``: the levels (NaN when unused); ``value``: the move size for
    ``moving_*`` (price units, or percent for ``*_pct``); ``reference``: the window's start
    price (NaN if none). Comparisons with NaN are false, so missing inputs never fire.
    """
    cond = np.asarray(condition)
    if cond.dtype.kind in "UO":
        cond = codes(cond)
    n = cond.shape[0]
    p, prev, lv, lv2, val, ref = (_f(x, n) for x in (price, previous, level, level2, value, reference))
    up = (prev < lv) & (p >= lv)
    down = (prev > lv) & (p <= lv)
    lo, hi = np.fmin(lv, lv2), np.fmax(lv, lv2)
    lo = np.where(np.isnan(lv) | np.isnan(lv2), np.nan, lo)
    hi = np.where(np.isnan(lv) | np.isnan(lv2), np.nan, hi)
    inside = (p >= lo) & (p <= hi)
    outside = (p < lo) | (p > hi)
    was_inside = (prev >= lo) & (prev <= hi)
    was_outside = (prev < lo) | (prev > hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (p - ref) / ref * 100.0
    choices = [
        up | down,
        up,
        down,
        p > lv,
        p < lv,
        was_outside & inside,
        was_inside & outside,
        inside,
        outside,
        (p - ref) >= val,
        (ref - p) >= val,
        pct >= val,
        -pct >= val,
    ]
    return np.select([cond == i for i in range(len(CONDITIONS))], choices, default=False).astype(bool)


def window_reference(times, prices, now, window_seconds) -> float:
    """The reference price of a ``moving_*`` window: the earliest observed price with
    ``time >= now - window_seconds`` among earlier observations (``times`` ascending, any
    unit matching ``window_seconds``; the current observation excluded). NaN if none."""
    t = np.asarray(times, dtype=float)
    i = int(np.searchsorted(t, float(now) - float(window_seconds), side="left"))
    j = int(np.searchsorted(t, float(now), side="left"))
    return float(np.asarray(prices, dtype=float)[i]) if i < j else float("nan")


def fire_series(
    condition: str, times, prices, *, level=np.nan, level2=np.nan, value=np.nan, window_seconds=0.0
) -> list[int]:
    """Indexes of a single price series (``times`` ascending, seconds) at which ``condition``
    holds, feeding :func:`evaluate` one observation at a time as the tick handler does. The
    first observation is the alert's creation point: it has no previous price."""
    prices = np.asarray(prices, dtype=float)
    times = np.asarray(times, dtype=float)
    code = np.array([CODE[condition]])
    fired = []
    for k in range(len(prices)):
        prev = prices[k - 1] if k else np.nan
        ref = window_reference(times[:k], prices[:k], times[k], window_seconds) if condition in MOVING else np.nan
        if evaluate(code, [prices[k]], [prev], level, level2, value, [ref])[0]:
            fired.append(k)
    return fired
