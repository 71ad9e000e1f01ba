"""Admin building blocks shared by every app.

- ``plain_decimal``: a Decimal as text without exponent or padding (``Decimal("0E-12")`` -> ``"0"``,
  ``Decimal("0.000120000000")`` -> ``"0.00012"``, ``Decimal("10000000.000000000000")`` ->
  ``"10,000,000"``); PriceField/QuantityField keep 12 decimal places, which the admin otherwise
  shows in full.
- ``PlainDecimalAdmin``: shows every DecimalField column of ``list_display`` with ``plain_decimal``
  and fills form inputs without padding or exponent.
- ``ReadOnlyAdmin``: rows that only services write (a ``PlainDecimalAdmin``).
"""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models


def plain_decimal(value, grouping: bool = True) -> str | None:
    """``value`` normalized and written out in full (no exponent, no trailing zeros), with thousands
    commas unless ``grouping`` is False; ``None`` stays ``None`` (the admin's empty mark)."""
    if value is None:
        return None
    number = Decimal(value)
    if not number.is_finite():
        return str(number)
    number = number.normalize()
    if number == 0:
        return "0"
    return format(number, ",f" if grouping else "f")


class PlainDecimalFormField(forms.DecimalField):
    """A form DecimalField whose input shows ``0.00012``, not ``0.000120000000`` or ``0E-12``."""

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return plain_decimal(value, grouping=False)
        return super().prepare_value(value)


class PlainDecimalAdmin(admin.ModelAdmin):
    """Decimal columns and inputs without padding (see ``plain_decimal``)."""

    formfield_overrides = {models.DecimalField: {"form_class": PlainDecimalFormField}}

    def get_list_display(self, request):
        return [self._plain_column(name) for name in super().get_list_display(request)]

    def _plain_column(self, name):
        if not isinstance(name, str) or name in (self.list_editable or ()):
            return name
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return name
        if not isinstance(field, models.DecimalField):
            return name
        # one callable per column for the admin's life: sortable_by matches columns by identity
        cache = self.__dict__.setdefault("_plain_columns", {})
        if name not in cache:
            cache[name] = self._make_plain_column(name, field)
        return cache[name]

    @staticmethod
    def _make_plain_column(name, field):
        @admin.display(description=field.verbose_name, ordering=name)
        def column(obj):
            return plain_decimal(getattr(obj, name))

        column.__name__ = name  # the column's CSS class stays column-<name>
        return column


class ReadOnlyAdmin(PlainDecimalAdmin):
    """Rows that only services write (ledgers, fills, imported market data, logs): listed and
    viewed in the admin, never added or edited by hand. ``deletable = True`` lets staff with the
    delete permission remove rows that are disposable computations (a stored backtest)."""

    deletable = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)
