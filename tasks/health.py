"""Liveness and readiness for orchestrators, beside `/health` (tasks.views.HealthView).

`/health/live` answers as long as the process can answer at all: it reads nothing, so a database
or Better Auth outage never makes an orchestrator restart every instance. `/health/ready` says
whether this instance can serve traffic now, one result per dependency, and 503 when one fails.
Neither needs a token, is rate limited, or is redirected to HTTPS.
"""

from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .auth_config import AuthConfig
from .backends import token_backend

OK = "ok"
# Results that do not make the instance unready.
PASSING = {OK, "not configured"}


class MigrationState:
    """Whether every migration on disk is applied; once it is, that verdict is kept.

    Applying migrations is the release step's job, before an instance takes traffic, so an
    instance that saw them all applied never needs to look again (the check reads every
    migration file and django_migrations).
    """

    all_applied = False

    @classmethod
    def check(cls):
        if not cls.all_applied:
            executor = MigrationExecutor(connection)
            cls.all_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
        return OK if cls.all_applied else "pending"


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return OK


@lru_cache(maxsize=1)
def redis_client(url):
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def check_redis():
    if not settings.REDIS_URL:
        return "not configured"
    redis_client(settings.REDIS_URL).ping()
    return OK


def check_jwks():
    """The keys are cached, or can be fetched now; HS256 needs none."""
    if AuthConfig.from_settings().uses_shared_secret:
        return "not configured"
    jwks = token_backend().jwks
    return OK if jwks is not None and jwks.keys() else "unavailable"


CHECKS = {"database": check_database, "migrations": MigrationState.check, "redis": check_redis, "jwks": check_jwks}


def run_check(check):
    try:
        return check()
    except (DatabaseError, redis.RedisError):
        return "unavailable"


@never_cache
@require_safe
def liveness(request):
    return JsonResponse({"status": "alive"})


@never_cache
@require_safe
def readiness(request):
    results = {}
    for name, check in CHECKS.items():
        # Migrations cannot be read without the database; say so rather than fail twice.
        if name == "migrations" and results["database"] != OK:
            results[name] = "unknown"
            continue
        results[name] = run_check(check)
    ready = all(result in PASSING for result in results.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": results}, status=200 if ready else 503)
