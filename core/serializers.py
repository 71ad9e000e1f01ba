"""Serializer bases shared by the apps."""

from django.db import models
from rest_framework import serializers


class PlainDecimalField(serializers.DecimalField):
    """A decimal rendered as a plain string without padding zeros ("1586", not
    "1586.000000000000"): the columns hold 12 places for the smallest coin prices."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("normalize_output", True)
        super().__init__(*args, **kwargs)


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DecimalField: PlainDecimalField,
    }
