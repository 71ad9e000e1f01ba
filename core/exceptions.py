"""Domain errors and the one DRF exception handler.

Every 4xx leaves the API as ``{"error": {"code": str, "message": str, "fields": {field: [str]}}}``
so that clients read one shape. Domain errors raised by services subclass ``DomainError`` and
carry a stable ``code``, an HTTP status and optionally the field they concern.
"""

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A rule of the platform was broken; mapped to ``status_code`` with ``code``."""

    code = "invalid"
    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(item) for item in (value if isinstance(value, list) else [value])]
            if not isinstance(value, dict)
            else [f"{k}: {v}" for k, v in _flatten(value).items()]
            for key, value in detail.items()
        }
    return {}


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _first_message(value)
            return text if key == "non_field_errors" else f"{key}: {text}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        fields = {exc.field: [exc.message]} if exc.field else {}
        body = {"error": {"code": exc.code, "message": exc.message, "fields": fields}}
        return Response(body, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE read by a view
        body = {"error": {"code": "request_too_large", "message": "Request body too large.", "fields": {}}}
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None or response.status_code < 400 or response.status_code >= 500:
        return response

    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    if isinstance(exc, exceptions.ValidationError):
        code, message, fields = "invalid", _first_message(detail), _flatten(detail)
        if isinstance(detail, list):
            fields = {"non_field_errors": [str(item) for item in detail]}
    else:
        # simplejwt puts {"detail", "code", "messages"} in the detail of its token errors
        if isinstance(detail, dict) and "detail" in detail:
            code, message = str(detail.get("code", getattr(exc, "default_code", "error"))), str(detail["detail"])
        else:
            codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
            code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
            message = _first_message(detail)
        fields = {}
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    return response
