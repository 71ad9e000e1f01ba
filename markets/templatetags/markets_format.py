"""Template filters for market figures: ``{{ value|krw_compact }}`` writes a KRW amount in
조/억 (10^12 / 10^8 won), e.g. ``1,234조 5,678억``; amounts under 1억 as whole won."""

from decimal import Decimal, InvalidOperation

from django import template

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
