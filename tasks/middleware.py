"""One log line per request, under an id taken from `X-Request-ID` or made up, and echoed back."""

import logging
import re
import time
import uuid

from django.utils.cache import patch_cache_control, patch_vary_headers

from .error_handlers import is_api_path
from .logging import current_request_id

logger = logging.getLogger(__name__)

# What a proxy's or client's request id may look like to be logged and echoed as-is.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id_for(request):
    """The caller's `X-Request-ID` when it is a safe token; otherwise a fresh uuid4."""
    supplied = request.headers.get("X-Request-ID", "")
    return supplied if REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex


def authenticated_user_id(request):
    """The token's `sub` once DRF has authenticated the request; nothing is decoded here.

    DRF copies the verified token and its user onto the Django request (`auth`, `user`).
    """
    if getattr(request, "auth", None) is None:
        return None
    return request.user.id


class RequestLogMiddleware:
    """Outermost middleware: times the request and logs method, path, status and user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request)
        context_token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            self.log(request, response, started)
            return response
        finally:
            current_request_id.reset(context_token)

    def log(self, request, response, started):
        # The path only: query strings may carry anything, and bodies and headers never appear.
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "user_id": authenticated_user_id(request),
        }
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(level, "%s %s %s", request.method, request.path, response.status_code, extra=fields)


class PrivateNoStoreMiddleware:
    """API answers carry a person's tasks: no shared or browser cache may keep them (RFC 9111).

    Every answer under /api/ (errors included) and /health says `Cache-Control: private,
    no-store` and varies on `Authorization`, so even a cache that ignores no-store cannot hand
    one person's answer to another.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api_path(request):
            patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ["Authorization"])
        return response
