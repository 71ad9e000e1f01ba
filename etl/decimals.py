"""Exact decimal arithmetic on whole columns: decimal text -> int64 units of 10**-scale.

The transform sums quantities and values in integer units of the smallest decimal place the data
uses (0.001 BTC for Binance USD-M quantities, 0.00001 USDT for their values), so every sum is
exact: integers add without rounding, and int64 holds 9.2e18 units. Text is turned into units
digit by digit with numpy (no float ever touches a quantity), and units go back to ``Decimal``
only for the few per-minute results.

No Django imports.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

MAX_DIGITS = 18  # 10**18 < 2**63: any 18-digit integer fits in int64
POW10 = np.array([10**k for k in range(MAX_DIGITS + 1)], dtype=np.int64)
INT64_SAFE = 2**62  # headroom under 2**63 for products and sums


def parse_units(texts, *, what: str = "value") -> tuple[np.ndarray, int]:
    """Decimal strings -> ``(units, scale)`` with ``value == units * 10**-scale`` exactly.

    ``texts``: array-like of ``str`` or ``bytes`` in plain notation (``"28145.10"``, ``"0.002"``,
    ``"7"``); ``scale`` is the smallest that represents every value (trailing zeros dropped), so
    ``"28145.10"`` and ``"28145.1"`` give the same units. Returns an int64 array.

    Raises ``ValueError`` naming ``what`` for anything else: a sign, an exponent, two dots, a
    non-digit, an empty string, or more than 18 significant places (which int64 cannot hold).
    """
    raw = np.asarray(texts)
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64), 0
    if raw.dtype == object and raw.size > 1024:
        # prices and quantities repeat a lot: parse each distinct text once (hashing is O(n))
        codes, distinct = pd.factorize(raw, use_na_sentinel=True)
        if (codes < 0).any():
            raise ValueError(f"{what}: missing value")
        if len(distinct) < raw.size // 2:
            units, scale = _parse(np.asarray(distinct, dtype=object), what)
            return units[codes], scale
    return _parse(raw, what)


def _parse(raw: np.ndarray, what: str) -> tuple[np.ndarray, int]:
    try:
        data = raw.astype(np.bytes_) if raw.dtype.kind != "S" else raw
    except (UnicodeEncodeError, TypeError, ValueError) as exc:
        raise ValueError(f"{what}: not plain ASCII decimal text ({exc})") from None
    width = data.dtype.itemsize
    if width == 0:
        raise ValueError(f"{what}: empty text")
    chars = np.ascontiguousarray(data).view(np.uint8).reshape(data.size, width)

    filled = chars != 0
    is_dot = chars == ord(".")
    is_digit = (chars >= ord("0")) & (chars <= ord("9"))
    dots = is_dot.sum(axis=1)
    bad = (filled & ~is_digit & ~is_dot).any(axis=1) | (dots > 1) | (is_digit.sum(axis=1) == 0)
    if bad.any():
        first = data[np.flatnonzero(bad)[0]].decode("ascii", "replace")
        raise ValueError(f"{what}: {first!r} is not a plain decimal number")

    length = filled.sum(axis=1)
    dot_pos = np.where(dots == 1, is_dot.argmax(axis=1), length)
    fraction = np.where(dots == 1, length - dot_pos - 1, 0)
    scale = int(fraction.max())
    if int((dot_pos + scale).max()) > MAX_DIGITS:
        raise ValueError(f"{what}: more than {MAX_DIGITS} digits; cannot be summed exactly in int64 units")

    units = np.zeros(data.size, dtype=np.int64)
    for col in range(width):  # Horner's scheme over the digits, left to right, skipping the dot
        use = is_digit[:, col]
        units = np.where(use, units * 10 + (chars[:, col].astype(np.int64) - ord("0")), units)
    units *= POW10[scale - fraction]  # each row had `fraction` places; bring all to `scale`
    return reduce_scale(units, scale)


def reduce_scale(units: np.ndarray, scale: int) -> tuple[np.ndarray, int]:
    """Drop trailing zero places shared by every value: ``([28145100], 3) -> ([281451], 1)``."""
    while scale > 0 and units.size and not (units % 10).any():
        units = units // 10
        scale -= 1
    return units, scale


def rescale(units: np.ndarray, scale: int, to_scale: int) -> np.ndarray:
    """Units at ``scale`` -> units at ``to_scale`` (>= ``scale``), exactly; ``OverflowError``
    when the result would leave int64."""
    if to_scale < scale:
        raise ValueError(f"cannot rescale {scale} -> {to_scale} places without rounding")
    if to_scale == scale:
        return units
    factor = 10 ** (to_scale - scale)
    if units.size and int(np.abs(units).max()) * factor >= INT64_SAFE:
        raise OverflowError(f"rescaling to {to_scale} places leaves int64")
    return units * np.int64(factor)


def multiply(a: np.ndarray, b: np.ndarray, *, what: str = "product") -> np.ndarray:
    """Element-wise exact ``a * b`` of non-negative int64 units; ``OverflowError`` if any
    product could leave int64 (checked on the maxima, before multiplying)."""
    if a.size and int(a.max()) * int(b.max()) >= INT64_SAFE:
        raise OverflowError(f"{what}: price x amount leaves int64 units")
    return a * b


def divide_round_half_even(numerator_factor: int, amounts: np.ndarray, divisors: np.ndarray) -> np.ndarray:
    """Exact ``round_half_even(amounts * numerator_factor / divisors)`` element-wise, in int64.

    Used for inverse contracts: BTC units = contracts x (contract size x 10**k) / price units.
    ``numerator_factor * amounts`` may not fit in int64, so the quotient is built from
    ``numerator_factor = q * d + r`` per row: ``a*F/d = a*q + (a*r)/d`` with ``a*r < a*d``.
    Raises ``OverflowError`` when an intermediate product could leave int64.
    """
    if amounts.size == 0:
        return np.zeros(0, dtype=np.int64)
    if numerator_factor >= INT64_SAFE:
        raise OverflowError("numerator factor leaves int64")
    if (divisors <= 0).any():
        raise ValueError("price must be positive")
    factor = np.int64(numerator_factor)
    whole, rest = factor // divisors, factor % divisors
    top = int(amounts.max())
    if top * int(whole.max()) >= INT64_SAFE or top * int(divisors.max()) >= INT64_SAFE:
        raise OverflowError("contracts x contract size / price leaves int64 units")
    quotient = amounts * whole
    extra, remainder = np.divmod(amounts * rest, divisors)
    quotient += extra
    twice = 2 * remainder
    round_up = (twice > divisors) | ((twice == divisors) & (quotient % 2 == 1))
    return quotient + round_up.astype(np.int64)


def to_decimal(units: int, scale: int) -> Decimal:
    """Integer units at ``scale`` -> the exact ``Decimal`` (built from text: no context rounding)."""
    return Decimal(f"{int(units)}E-{scale}") if scale else Decimal(int(units))


def from_decimal(value: Decimal, scale: int) -> int:
    """``Decimal`` -> integer units at ``scale``; ``ValueError`` if it has more places."""
    units = value.scaleb(scale)
    if units != units.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places")
    return int(units)
