"""Decimal model fields with the project's precisions, one name per kind of number.

Use these instead of ``models.DecimalField(max_digits=..., decimal_places=...)``:

===================  ==========  ========  ==============================================
field                max_digits  decimals  holds
===================  ==========  ========  ==============================================
``MoneyField``       30          8         cash in a quote currency (KRW, USDT)
``PriceField``       30          12        a price per unit, in the quote currency
``QuantityField``    36          12        an amount of the base asset (shares, coins)
``FractionField``    6           4         a ratio in [0, 1] (k of the breakout, a fraction)
``BasisPointsField`` 8           2         a rate in basis points (1 bp = 0.01 %)
===================  ==========  ========  ==============================================

Each is a ``DecimalField`` and deconstructs as one, so migrations see a plain
``DecimalField`` with the same digits: switching a model to these fields writes no migration.
``max_digits`` and ``decimal_places`` may still be given to override.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class _PresetDecimalField(models.DecimalField):
    max_digits_default: int
    decimal_places_default: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", self.max_digits_default)
        kwargs.setdefault("decimal_places", self.decimal_places_default)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs


class MoneyField(_PresetDecimalField):
    """Cash in a quote currency (KRW, USDT): 30 digits, 8 decimals."""

    max_digits_default, decimal_places_default = 30, 8


class PriceField(_PresetDecimalField):
    """A price per unit of an instrument, in its quote currency: 30 digits, 12 decimals."""

    max_digits_default, decimal_places_default = 30, 12


class QuantityField(_PresetDecimalField):
    """An amount of an instrument's base asset (shares, coins, contracts): 36 digits, 12 decimals."""

    max_digits_default, decimal_places_default = 36, 12


class FractionField(_PresetDecimalField):
    """A ratio, usually in [0, 1]: 6 digits, 4 decimals."""

    max_digits_default, decimal_places_default = 6, 4


class BasisPointsField(_PresetDecimalField):
    """A rate in basis points (1 bp = 0.0001): 8 digits, 2 decimals."""

    max_digits_default, decimal_places_default = 8, 2


def decimal_precision(model: type[models.Model], name: str) -> tuple[int, int]:
    """``(max_digits, decimal_places)`` of the decimal column ``name`` of ``model``;
    ``TypeError`` when that field is not a ``DecimalField``."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.DecimalField) or field.max_digits is None or field.decimal_places is None:
        raise TypeError(f"{model.__name__}.{name} is not a DecimalField with digits")
    return field.max_digits, field.decimal_places
