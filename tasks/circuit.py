"""Circuit breakers for the dependencies that can hang: after a failure, skip them for a cooldown.

A frozen PostgreSQL or Redis keeps its connections open and never answers, so every call
would cost its whole timeout. Each process keeps one breaker per dependency (the
`circuitbreaker` library): a failure opens it; while it is open, calls are not made at all
(`call_or` returns the fallback, `opened` says so to code that raises instead); after
CIRCUIT_BREAKER_COOLDOWN seconds the next call tries the dependency again and closes the
breaker if it answers. A sync worker makes one call at a time, so a frozen dependency costs it
at most one timeout per cooldown.

    from tasks import circuit
    allowed = circuit.redis.call_or(True, throttle.allow_request, request, view)
"""

import logging

from circuitbreaker import CircuitBreaker
from django.conf import settings
from django.db import DatabaseError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class DatabaseTimeout(Exception):
    """Marker base for a PostgreSQL wait given up by tasks.database (what opens its breaker)."""


class DependencyBreaker(CircuitBreaker):
    """Opens on the first `failure` (an exception type) of its dependency, for the cooldown."""

    def __init__(self, name, failure):
        super().__init__(
            failure_threshold=1,
            recovery_timeout=settings.CIRCUIT_BREAKER_COOLDOWN,
            expected_exception=failure,
            name=name,
        )
        self.failure = failure

    def __exit__(self, exc_type, exc_value, traceback):
        """A watched failure counts and a clean exit closes; any other exception changes nothing.

        The library resets the breaker on every exception it does not watch, so a bug raised in
        the one trial call after the cooldown would close it without the dependency answering.
        """
        if exc_type is not None and not self.is_failure(exc_type, exc_value):
            return False
        return super().__exit__(exc_type, exc_value, traceback)

    def call_or(self, fallback, func, *args, **kwargs):
        """func(*args, **kwargs), or `fallback` while the breaker is open or when func fails."""
        if self.opened:
            return fallback
        try:
            with self:
                return func(*args, **kwargs)
        except self.failure as e:
            logger.warning(
                "%s unavailable (%s); not tried again for %s s",
                self.name,
                e.__class__.__name__,
                settings.CIRCUIT_BREAKER_COOLDOWN,
            )
            return fallback


redis = DependencyBreaker("redis", RedisError)
database = DependencyBreaker("postgresql", DatabaseTimeout)
# Any failure of the read replica sends reads to the primary for the cooldown (tasks/replica.py).
replica = DependencyBreaker("replica", DatabaseError)


def reset_all():
    """Closes every breaker (tests start each from a healthy process)."""
    for each in (redis, database, replica):
        each.reset()
