"""The OpenAPI schema documents the errors as well as the successes.

``ErrorDocumentingAutoSchema`` (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``) adds the API error
shape (``{"error": {"code", "message", "fields"}}``, see ``core.exceptions``) to every operation
for the statuses it can return:

- 400 for operations that take a body or query parameters (a field is invalid: ``fields``
  names it);
- 401 unless the view allows anonymous access;
- 404 for operations on a path with a parameter (another user's object is 404 too);
- 409 for writes (a rule of the platform refused it: market closed, no fresh price, no cash);
- 429 when the view is throttled.

Responses an operation declares itself (``@extend_schema(responses=...)``) are kept.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="machine-readable, e.g. invalid, not_found, market_closed, throttled")
    message = serializers.CharField(help_text="for people, in English")
    fields = serializers.DictField(  # type: ignore[assignment]  # "fields" is the error shape's key
        child=serializers.ListField(child=serializers.CharField()),
        help_text="the request fields or parameters at fault, each with its messages; {} when none",
    )


class ErrorSerializer(serializers.Serializer):
    """The API's error shape."""

    error = ErrorDetailSerializer()


class ErrorDocumentingAutoSchema(AutoSchema):
    def _error_statuses(self) -> list[str]:
        method = self.method.upper()
        statuses = []
        has_query = bool(
            self._get_filter_parameters() or self._get_pagination_parameters() or self.get_override_parameters()
        )
        if method in WRITES or has_query:
            statuses.append("400")
        permissions = getattr(self.view, "permission_classes", [])
        if not all(issubclass(p, AllowAny) for p in permissions) or not permissions:
            statuses.append("401")
        if "{" in self.path:
            statuses.append("404")
        if method in WRITES:
            statuses.append("409")
        if getattr(self.view, "throttle_classes", None) or getattr(self.view, "throttle_scope", None):
            statuses.append("429")
        return statuses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSerializer, status, direction=direction)
        return responses
