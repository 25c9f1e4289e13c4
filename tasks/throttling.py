"""Rate limits: one atomic counter per key and window in Redis (DRF's count in the local cache without it)."""

import functools

import redis
from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from . import circuit
from .client_address import client_address

# One round trip, run by Redis as a unit: parallel requests cannot overwrite each other's counts
# (a read, an increment in Python and a write back can). The window opens with its first hit.
COUNT_HIT = """
local hits = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}
"""


@functools.cache
def redis_counter(url):
    """The hit-counting script on a connection pool for `url`, one per process."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return client.register_script(COUNT_HIT)


def count_hit(key, window_seconds):
    """(hits in the current window including this one, milliseconds until the window closes)."""
    hits, expires_in_ms = redis_counter(settings.REDIS_URL)(keys=[key], args=[int(window_seconds * 1000)])
    return hits, expires_in_ms


class AtomicRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle that counts with one atomic Redis call when REDIS_URL is set.

    Without Redis it is DRF's own count in the per-process cache. If Redis fails or hangs,
    requests are let through: an outage of the counter must not become an outage of the API.
    """

    def allow_request(self, request, view):
        if not settings.REDIS_URL:
            # A Redis cache configured by hand (CACHES) fails open the same way.
            return circuit.redis.call_or(True, super().allow_request, request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        # A Redis that fails or hangs costs one timeout per worker per cooldown (tasks.circuit).
        hits, expires_in_ms = circuit.redis.call_or(
            (0, 0), count_hit, settings.REDIS_KEY_PREFIX + self.key, self.duration
        )
        self.retry_after = max(expires_in_ms, 0) / 1000
        return hits <= self.num_requests

    def wait(self):
        return self.retry_after if settings.REDIS_URL else super().wait()

    def get_ident(self, request):
        return client_address(request)


class PerUserRateThrottle(AtomicRateThrottle, UserRateThrottle):
    """Requests per user (the token's `sub`; anonymous: the trusted client address), at
    API_USER_THROTTLE_RATE, read per request (None turns throttling off)."""

    def get_rate(self):
        return settings.API_USER_THROTTLE_RATE


class AdminLoginThrottle(AtomicRateThrottle):
    """Admin login attempts per client address, at ADMIN_LOGIN_RATE; checked before the form is read."""

    scope = "admin_login"

    def get_rate(self):
        return settings.ADMIN_LOGIN_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
