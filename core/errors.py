"""The API's error shape outside DRF views: ``{"error": {"code", "message", "fields"}}`` for every
4xx/5xx on an ``/api/`` path (unknown URL 404, Django's 400/405, a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` 413, an uncaught exception 500). HTML pages keep Django's HTML.

- ``handler400/404/500``: the URLconf error views (``tradesite/urls.py``).
- ``ApiErrorShapeMiddleware``: reshapes an HTML or plain-text error response on ``/api/``.
- ``ApiASGIHandler``: Django's ASGI handler, whose own 413/400 (raised before any middleware,
  while the request is built) also take the shape on ``/api/``.
"""

from django.core.handlers.asgi import ASGIHandler
from django.http import JsonResponse
from django.views import defaults

API_PREFIX = "/api/"
CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    429: "throttled",
    500: "server_error",
}
MESSAGES = {
    400: "Bad request.",
    401: "Authentication credentials were not provided.",
    403: "Permission denied.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "Request body too large.",
    429: "Too many requests.",
    500: "Server error.",
}


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def api_error_response(status: int) -> JsonResponse:
    code = CODES.get(status, "server_error" if status >= 500 else "error")
    message = MESSAGES.get(status, "Server error." if status >= 500 else "Request refused.")
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def handler400(request, exception=None):
    return api_error_response(400) if is_api_path(request.path) else defaults.bad_request(request, exception)


def handler404(request, exception=None):
    return api_error_response(404) if is_api_path(request.path) else defaults.page_not_found(request, exception)


def handler500(request):
    return api_error_response(500) if is_api_path(request.path) else defaults.server_error(request)


class ApiErrorShapeMiddleware:
    """Reshape a non-JSON 4xx/5xx on an ``/api/`` path into the API error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 400 and is_api_path(request.path):
            content_type = response.get("Content-Type", "")
            if content_type.startswith(("text/html", "text/plain")) or not content_type:
                shaped = api_error_response(response.status_code)
                for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                    if header in response:
                        shaped[header] = response[header]
                return shaped
        return response


class ApiASGIHandler(ASGIHandler):
    def create_request(self, scope, body_file):
        request, response = super().create_request(scope, body_file)
        if response is not None and is_api_path(scope.get("path", "")):
            response = api_error_response(response.status_code)
        return request, response
