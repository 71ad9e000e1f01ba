"""Strict query filters shared by the API lists.

``IdFilter``: an id is an integer in [1, 2**63 - 1] (a 64-bit primary key); anything beyond is a
400 naming the parameter, not an ``OverflowError`` from the database driver.
``MomentFilter``: an ISO-8601 datetime between 1900-01-01 and 9000-01-01 UTC, so converting it to
the database's zone cannot overflow.
"""

from datetime import UTC, datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError

MAX_ID = 2**63 - 1
MIN_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
MAX_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value):
        try:
            moment = super().to_python(value)
        except OverflowError:
            raise ValidationError("Enter a datetime between 1900-01-01 and 9000-01-01.", code="invalid") from None
        if moment is not None and moment.tzinfo is not None:
            if not (MIN_MOMENT.date() < moment.date() < MAX_MOMENT.date()):
                raise ValidationError("Enter a datetime between 1900-01-01 and 9000-01-01.", code="invalid")
        return moment


class MomentFilter(django_filters.IsoDateTimeFilter):
    field_class = _BoundedIsoDateTimeField
