"""The one pagination of every API list: ``?limit=&offset=`` with documented bounds.

``limit`` is an ASCII decimal integer in [1, ``MAX_LIMIT``] (default ``PAGE_SIZE``), ``offset``
an ASCII decimal integer in [0, ``MAX_OFFSET``] (default 0). Anything else (``-1``, ``abc``,
``2**63``, full-width digits, ``1_000``) is a 400 in the API error shape naming the parameter,
never ignored and never a 500 (a database cannot take an OFFSET beyond 64 bits).
"""

import re

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000
_ASCII_INT = re.compile(r"[0-9]{1,19}")


def _bounded_int(request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not _ASCII_INT.fullmatch(raw) or not minimum <= int(raw) <= maximum:
        raise serializers.ValidationError({name: [f"{name} must be an integer from {minimum} to {maximum}."]})
    return int(raw)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset pagination with strict parameters (see the module docstring)."""

    max_limit = MAX_LIMIT

    def get_limit(self, request):
        return _bounded_int(request, self.limit_query_param, default=self.default_limit, minimum=1, maximum=MAX_LIMIT)

    def get_offset(self, request):
        return _bounded_int(request, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": MAX_LIMIT})
                parameter["description"] = (
                    f"Number of results to return per page (1 to {MAX_LIMIT}, default {self.default_limit})."
                )
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update({"minimum": 0, "maximum": MAX_OFFSET})
        return parameters
