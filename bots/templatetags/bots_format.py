"""Template filters of the bot and backtest pages: ``{{ value|amount }}`` writes a decimal with
thousands separators and no padding zeros (``Decimal("1234567.5000")`` -> ``"1,234,567.5"``);
``{{ value|signed_amount }}`` adds the sign; ``{{ fraction|percent }}`` writes ``0.1234`` as
``"12.34 %"``. Each returns ``""`` for None and what is not a number."""

from decimal import Decimal, InvalidOperation

from django import template

from core.admin import plain_decimal

register = template.Library()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _grouped(number: Decimal) -> str:
    return plain_decimal(number) or ""


@register.filter
def amount(value) -> str:
    number = _decimal(value)
    return "" if number is None else _grouped(number)


@register.filter
def signed_amount(value) -> str:
    number = _decimal(value)
    if number is None:
        return ""
    return ("+" if number > 0 else "") + _grouped(number)


@register.filter
def percent(value, places: int = 2) -> str:
    number = _decimal(value)
    return "" if number is None else f"{number * 100:,.{int(places)}f} %"


@register.filter
def direction(value) -> str:
    """``"up"``, ``"down"`` or ``"flat"`` by the sign of a number (the board's colour classes)."""
    number = _decimal(value)
    if number is None or number == 0:
        return "flat"
    return "up" if number > 0 else "down"
