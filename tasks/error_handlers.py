"""Every failure under /api/ is answered with JSON, never HTML or a traceback.

Every error body has the same shape: `detail` (a message for people) and `code` (stable, for
programs); a validation error keeps its field keys beside them
(`{"detail": "Invalid input.", "code": "invalid", "title": ["This field may not be blank."]}`).
The code is the DRF exception's own (`exc.get_codes()`, else its `default_code`).
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.views import exception_handler, set_rollback

from .exceptions import DatabaseUnavailable, PreconditionFailed, RequestBodyTooLarge
from .metrics import count_refusal

logger = logging.getLogger(__name__)


def api_exception_handler(exc, context):
    """DRF's handler, plus JSON answers for oversized bodies, database outages and bugs."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        exc = DatabaseUnavailable()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestBodyTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = ParseError()
    elif isinstance(exc, Http404):  # as DRF's handler does, so that the code is known below
        exc = NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is None:
        logger.error("unhandled error in %s", context["view"].__class__.__name__, exc_info=exc)
        set_rollback()
        response = server_error_response()
    else:
        response.data = error_body(exc, response.data)
    count_refusal(exc, response)
    return response


def error_body(exc, data):
    """`{"detail", "code", ...}` from what DRF's handler made of `exc`."""
    if isinstance(exc, PreconditionFailed):
        # The current task, so the client can merge and retry (with the ETag sent beside it).
        return {"detail": str(exc.detail), "code": exc.default_code, **exc.current}
    if isinstance(data, dict) and "detail" in data:
        codes = exc.get_codes()
        code = data.get("code") or (codes if isinstance(codes, str) else exc.default_code)
        return {**data, "detail": str(data["detail"]), "code": str(code)}
    if isinstance(data, list):  # ValidationError("message"), no field
        return {"detail": " ".join(str(message) for message in data), "code": shared_code(exc)}
    return {"detail": str(exc.default_detail), "code": shared_code(exc), **data}


def shared_code(exc):
    """The one code all of a validation error's messages share (`empty_value`, `blank`...), else `invalid`."""
    codes = set(leaves(exc.get_codes()))
    code = codes.pop() if len(codes) == 1 else None
    return code or exc.default_code  # a message raised without a code (django-filter's) has None


def leaves(codes):
    if isinstance(codes, dict):
        codes = list(codes.values())
    if isinstance(codes, list):
        for item in codes:
            yield from leaves(item)
    else:
        yield codes


def server_error_response():
    return JsonResponse(
        {"detail": "Internal server error.", "code": "server_error"},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def is_api_path(request):
    return request.path.startswith("/api/") or request.path in ("/api", "/health", "/health/")


def bad_request(request, exception=None):
    """handler400 (e.g. a Host header not in ALLOWED_HOSTS): JSON under /api/, Django's page elsewhere."""
    if is_api_path(request):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    """handler403: JSON under /api/, Django's page elsewhere (the admin)."""
    if is_api_path(request):
        return JsonResponse({"detail": "Permission denied.", "code": "permission_denied"}, status=403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    """handler404: JSON under /api/, Django's page elsewhere (the admin)."""
    if is_api_path(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: JSON under /api/, Django's page elsewhere (the admin)."""
    if is_api_path(request):
        return server_error_response()
    return defaults.server_error(request)
