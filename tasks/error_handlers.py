"""Every failure under /api/ is answered with JSON, never HTML or a traceback."""
import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
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
    elif isinstance(exc, PreconditionFailed):
        return Response(exc.current, status=exc.status_code)
    response = exception_handler(exc, context)
    if response is None:
        logger.error("unhandled error in %s", context["view"].__class__.__name__, exc_info=exc)
        set_rollback()
        response = server_error_response()
    count_refusal(exc, response)
    return response


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
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    """handler403: JSON under /api/, Django's page elsewhere (the admin)."""
    if is_api_path(request):
        return JsonResponse({"detail": "Permission denied."}, status=403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    """handler404: JSON under /api/, Django's page elsewhere (the admin)."""
    if is_api_path(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: JSON under /api/, Django's page elsewhere (the admin)."""
    if is_api_path(request):
        return server_error_response()
    return defaults.server_error(request)
