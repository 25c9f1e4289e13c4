"""Prometheus metrics: what is counted, the middleware that times requests, and `/metrics`.

Under gunicorn every worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR (set by
gunicorn.conf.py) and `/metrics` adds them up, so a scrape sees the whole instance whichever
worker answers it. Without that variable (runserver, tests) the samples stay in the process.
"""

import hmac
import os
import re
import time
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from rest_framework.exceptions import AuthenticationFailed, Throttled

REQUESTS = Counter("taskapi_http_requests", "HTTP requests answered.", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "taskapi_http_request_duration_seconds", "Time to answer an HTTP request.", ["method", "route", "status"]
)
QUERIES_PER_REQUEST = Histogram(
    "taskapi_db_queries_per_request",
    "Database queries made while answering one request.",
    ["route"],
    buckets=(0, 1, 2, 3, 4, 5, 8, 13, 21, 50, 100),
)
QUERY_SECONDS_PER_REQUEST = Histogram(
    "taskapi_db_query_seconds_per_request", "Time spent in the database while answering one request.", ["route"]
)
JWKS_FETCHES = Counter("taskapi_jwks_fetches", "Fetches of Better Auth's JWKS, by outcome (ok, failed).", ["outcome"])
TOKEN_REJECTIONS = Counter("taskapi_token_rejections", "Bearer tokens refused with 401, by code.", ["code"])
THROTTLED_REQUESTS = Counter("taskapi_throttled_requests", "Requests refused with 429 by the rate limit.")
IDEMPOTENT_REPLAYS = Counter("taskapi_idempotent_replays", "Creates answered from a stored Idempotency-Key result.")

# A route's regex or path converters as one readable template: `/api/{user_id}/tasks/{pk}`.
NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>")


@lru_cache(maxsize=256)
def route_template(route):
    template = NAMED_GROUP.sub(lambda m: "{%s}" % (m.group(1) or m.group(2)), route)
    template = template.replace("^", "").replace("$", "").replace("/?", "/")
    return "/" + template.strip("/")


def route_of(request):
    """The URL pattern that served the request; never the path itself, which callers choose."""
    match = getattr(request, "resolver_match", None)
    return route_template(match.route) if match is not None else "unmatched"


class QueryTally:
    """A database execute wrapper that counts one request's queries and the time they take."""

    def __init__(self):
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


class MetricsMiddleware:
    """Counts and times every request by route template and status, with its database work."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tally = QueryTally()
        started = time.perf_counter()
        with connection.execute_wrapper(tally):
            response = self.get_response(request)
        route = route_of(request)
        labels = (request.method, route, str(response.status_code))
        REQUESTS.labels(*labels).inc()
        REQUEST_SECONDS.labels(*labels).observe(time.perf_counter() - started)
        QUERIES_PER_REQUEST.labels(route).observe(tally.count)
        QUERY_SECONDS_PER_REQUEST.labels(route).observe(tally.seconds)
        if response.get("Idempotent-Replayed") == "true":
            IDEMPOTENT_REPLAYS.inc()
        return response


def count_refusal(exc, response):
    """Called by the API's exception handler: token rejections by code, and throttled requests."""
    if isinstance(exc, Throttled):
        THROTTLED_REQUESTS.inc()
    elif isinstance(exc, AuthenticationFailed):
        code = response.data.get("code") if isinstance(response.data, dict) else None
        TOKEN_REJECTIONS.labels(code or "authentication_failed").inc()


def metrics_view(request):
    """`/metrics` for Prometheus, only with `Authorization: Bearer $METRICS_TOKEN`; 404 when unset."""
    if not settings.METRICS_TOKEN:
        raise Http404
    expected = f"Bearer {settings.METRICS_TOKEN}".encode()
    if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
        response = JsonResponse({"detail": "A valid metrics token is required."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(current_registry()), content_type=CONTENT_TYPE_LATEST)


def current_registry():
    """All workers' samples under gunicorn (multiprocess mode), this process's otherwise."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
