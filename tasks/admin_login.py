"""Admin login attempts: limited per client address and checked one at a time, before Django reads the form.

Each attempt that reaches Django's login form costs a password hash (PBKDF2 at Django's
iteration count: about 0.4 s of a sync worker on an idle machine, seconds on a busy one), even
for an unknown user. django-axes locks an account or an address out after AXES_FAILURE_LIMIT
failures and refuses locked-out attempts before any hash. Two cheaper checks come first, here:

- ADMIN_LOGIN_RATE attempts per client address, one counter increment each (the rate limit's
  atomic counter);
- one attempt at a time across all workers (a lock in the shared cache): however many clients
  post logins, at most one worker is hashing, and the others keep serving the API.

Both refusals are a short 429 page built without the template engine, the session or a query.
"""

import math
from contextlib import contextmanager

from django.core.cache import cache
from django.http import HttpResponse
from django.urls import reverse

from . import circuit
from .error_handlers import is_api_path
from .throttling import AdminLoginThrottle

GATE_KEY = "admin_login_gate"
# Far longer than a hash; frees the gate should a worker die while holding it.
GATE_SECONDS = 30

REFUSED_PAGE = """<!doctype html>
<html lang="en"><head><title>Too many login attempts</title></head>
<body><h1>Too many login attempts</h1><p>{reason} Try again in {seconds} second(s).</p></body></html>
"""


class AdminLoginRateLimitMiddleware:
    """429 for a POST to the admin login page beyond ADMIN_LOGIN_RATE from one client address,
    or while another login is being checked."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Tried in this order, an API request costs one comparison, not a reverse() of the admin's URLs.
        if request.method != "POST" or is_api_path(request) or request.path != reverse("admin:login"):
            return self.get_response(request)
        throttle = AdminLoginThrottle()
        if not throttle.allow_request(request, None):
            return refused("Logins from your address are limited.", throttle.wait())
        with login_gate() as admitted:
            if not admitted:
                return refused("Another login is being checked.", 1)
            return self.get_response(request)


@contextmanager
def login_gate():
    """Yields whether this request may check a password now: one at a time across workers.

    The lock is a key added to the shared cache (Redis's SET NX with an expiry); without
    REDIS_URL the cache is per process, and so is the gate. If Redis fails, logins go ahead.
    """
    # None: Redis failed or its breaker is open (tasks.circuit); the login goes ahead ungated.
    admitted = circuit.redis.call_or(None, cache.add, GATE_KEY, True, GATE_SECONDS)
    try:
        yield admitted is not False
    finally:
        if admitted:
            circuit.redis.call_or(None, cache.delete, GATE_KEY)


def refused(reason, retry_after):
    seconds = max(1, math.ceil(retry_after or 1))
    response = HttpResponse(REFUSED_PAGE.format(reason=reason, seconds=seconds), status=429)
    response["Retry-After"] = str(seconds)
    return response
