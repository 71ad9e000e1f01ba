"""Strict query filters shared by the API lists.

``IdFilter``: an id is an integer in [1, 2**63 - 1] (a 64-bit primary key); anything beyond is a
400 naming the parameter, not an ``OverflowError`` from the database driver.
``MomentFilter``: a time as ``core.timeparse`` reads it (a date = an Asia/Seoul day, or an ISO 8601
datetime with an offset) between 1900-01-02 and 9000-01-01 UTC, so converting it to the database's
zone cannot overflow.
"""

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from core.timeparse import TimeParseError, parse_moment

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _MomentField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return parse_moment(value)
        except TimeParseError as exc:
            raise ValidationError(str(exc), code="invalid") from None


class MomentFilter(django_filters.Filter):
    field_class = _MomentField
