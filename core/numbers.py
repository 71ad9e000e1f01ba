"""Strict decimal input: ASCII decimal syntax only, within what the database stores exactly.

``parse_plain_decimal("12.5", max_digits=30, decimal_places=12)`` -> ``Decimal("12.5")``.
Refused with ``ValueError(message)``: anything but ``-?[0-9]+(\\.[0-9]+)?`` (so no ``1_000``, no
full-width ``１０``, no exponent ``1e3``, no ``NaN``/``Infinity``, no surrounding spaces); more
than ``decimal_places`` decimals or ``max_digits`` digits (the column's precision: a value is never
rounded into it); more than ``max_significant`` significant digits (15 on SQLite, which stores a
non-integer decimal as a double and would round 100000000.12345678 to 100000000.123457).
JSON numbers (int, float) are taken by their shortest text (``0.01`` -> ``"0.01"``); booleans are
refused.
"""

import re
from decimal import Decimal

from rest_framework import serializers

_PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MAX_INPUT_CHARS = 80
SQLITE_SIGNIFICANT_DIGITS = 15


def significant_digits(number: Decimal) -> int:
    if number == 0:
        return 1
    return len(number.normalize().as_tuple().digits)


def parse_plain_decimal(value, *, max_digits: int, decimal_places: int, max_significant: int | None = None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError("A number is required.")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_INPUT_CHARS or not _PLAIN.fullmatch(text):
        raise ValueError("Use a plain decimal number with ASCII digits, e.g. 12.5 (no exponent, separators or spaces).")
    number = Decimal(text)
    whole, _, fraction = text.lstrip("-").partition(".")
    fraction = fraction.rstrip("0")
    whole = whole.lstrip("0")
    if len(fraction) > decimal_places:
        raise ValueError(f"At most {decimal_places} decimal places.")
    if len(whole) > max_digits - decimal_places:
        raise ValueError(f"At most {max_digits - decimal_places} digits before the decimal point.")
    if max_significant is not None and significant_digits(number) > max_significant:
        raise ValueError(f"At most {max_significant} significant digits.")
    return number


class StrictDecimalField(serializers.DecimalField):
    """DRF's DecimalField with ``parse_plain_decimal``'s syntax (400 naming the field)."""

    def to_internal_value(self, data):
        try:
            number = parse_plain_decimal(data, max_digits=self.max_digits, decimal_places=self.decimal_places)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        self.run_validators(number)
        return number
