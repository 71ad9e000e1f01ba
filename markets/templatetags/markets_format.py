"""Template filters for market figures: ``{{ value|krw_compact }}`` writes a KRW amount in
조/억 (10^12 / 10^8 won), e.g. ``1,234조 5,678억``; amounts under 1억 as whole won."""

from decimal import Decimal, InvalidOperation

from django import template

from core.admin import plain_decimal

register = template.Library()

JO = Decimal(10) ** 12
EOK = Decimal(10) ** 8


@register.filter
def krw_compact(value) -> str:
    """``Decimal``/int KRW -> ``"1,234조 5,678억"`` (rounded down to 억); ``""`` for None."""
    if value is None or value == "":
        return ""
    try:
        won = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    sign, won = ("-" if won < 0 else ""), abs(won)
    if won < EOK:
        return f"{sign}{won:,.0f}원"
    jo, rest = divmod(won, JO)
    eok = rest // EOK
    parts = ([f"{jo:,.0f}조"] if jo else []) + ([f"{eok:,.0f}억"] if eok else [])
    return sign + " ".join(parts)


@register.filter
def signed_percent(value, places: int = 2) -> str:
    """A fraction -> a signed percent: ``0.0123`` -> ``"+1.23 %"``, ``-0.004`` -> ``"-0.40 %"``;
    ``""`` for None or what is not a number."""
    if value is None or value == "":
        return ""
    try:
        percent = Decimal(str(value)) * 100
    except (InvalidOperation, TypeError, ValueError):
        return ""
    return f"{percent:+.{int(places)}f} %"


@register.filter
def plain_number(value, places: int | None = None) -> str:
    """A Decimal (or number text) written out without exponent or padding zeros, with thousands
    commas: ``Decimal("432.450000000000")`` -> ``"432.45"``; ``places`` rounds first (half even);
    ``"-"`` for None or what is not a number."""
    if value is None or value == "":
        return "-"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return "-"
    if not number.is_finite():
        return "-"
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-int(places)))
        return f"{number:,f}"
    return plain_decimal(number) or "-"


@register.filter
def signed_number(value, places: int | None = None) -> str:
    """``plain_number`` with an explicit sign for non-zero values: ``"+0.18"``, ``"-1.15"``."""
    text = plain_number(value, places)
    if text == "-" or text.startswith("-") or not text.strip("0.,"):
        return text
    return "+" + text


@register.filter
def direction(value) -> str:
    """The CSS class of a change: ``up`` (> 0), ``down`` (< 0) or ``""``."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    return "up" if number > 0 else "down" if number < 0 else ""
