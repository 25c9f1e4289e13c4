"""Per-user rate limiting, counted in the Django cache (Redis when REDIS_URL is set)."""
from django.conf import settings
from rest_framework.throttling import UserRateThrottle

from . import circuit


class PerUserRateThrottle(UserRateThrottle):
    """DRF's per-user throttle, keyed by the token's `sub`, at API_USER_THROTTLE_RATE.

    The rate is read per request (None turns throttling off). If the shared cache cannot
    be reached, requests are let through: an outage of the counter must not become an
    outage of the API.
    """

    def get_rate(self):
        return settings.API_USER_THROTTLE_RATE

    def allow_request(self, request, view):
        # A Redis that fails or hangs costs one timeout per worker per cooldown (tasks.circuit).
        return circuit.redis.call_or(True, super().allow_request, request, view)
