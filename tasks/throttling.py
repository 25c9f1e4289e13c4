"""Per-user rate limiting, counted in the Django cache (Redis when REDIS_URL is set)."""
import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)


class PerUserRateThrottle(UserRateThrottle):
    """DRF's per-user throttle, keyed by the token's `sub`, at API_USER_THROTTLE_RATE.

    The rate is read per request (None turns throttling off). If the shared cache cannot
    be reached, requests are let through: an outage of the counter must not become an
    outage of the API.
    """

    def get_rate(self):
        return settings.API_USER_THROTTLE_RATE

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except RedisError as e:
            logger.warning("rate limit not applied, cache unreachable: %s", e.__class__.__name__)
            return True
