"""Decimal quantizing, one helper per unit.

KRW has no minor unit (amounts are whole won); USDT is kept to 8 places like the exchanges'
settlement; coin and share quantities to 8 places (shares are whole by lot size anyway).
Rounding always favours the house: what a user pays rounds up, what a user receives rounds down.
"""

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

CASH_EXPONENT = {"KRW": Decimal("1"), "USDT": Decimal("0.00000001"), "USD": Decimal("0.01")}
QUANTITY_EXPONENT = Decimal("0.00000001")


def cash_exponent(currency: str) -> Decimal:
    try:
        return CASH_EXPONENT[currency]
    except KeyError:
        raise ValueError(f"no cash unit for currency {currency!r}") from None


def quantize_paid(amount: Decimal, currency: str) -> Decimal:
    """An amount the user pays (cost, fee, tax), rounded up to the currency's unit."""
    return Decimal(amount).quantize(cash_exponent(currency), rounding=ROUND_CEILING)


def quantize_received(amount: Decimal, currency: str) -> Decimal:
    """An amount the user receives (sale proceeds), rounded down to the currency's unit."""
    return Decimal(amount).quantize(cash_exponent(currency), rounding=ROUND_FLOOR)


def quantize_quantity(quantity: Decimal) -> Decimal:
    return Decimal(quantity).quantize(QUANTITY_EXPONENT, rounding=ROUND_FLOOR)


def plain(value: Decimal | None) -> str | None:
    """A decimal as plain text without padding zeros, as the API shows it:
    ``Decimal("590.074000")`` -> ``"590.074"``, ``91337000`` -> ``"91337000"``; None stays None."""
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "0E-12") else text
