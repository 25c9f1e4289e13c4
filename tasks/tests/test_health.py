"""GET /health (no token, database reachability), /health/live and /health/ready."""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from tasks.health import MigrationState

from .live import free_port

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/health", "/health/"])
def test_health_is_200_without_a_token(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["database"] == "ok"
    assert body["timestamp"].endswith("Z")


def test_health_ignores_a_bad_token(api_client):
    response = api_client.get("/health", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 200


def test_health_is_503_when_the_database_cannot_be_reached(api_client, settings, monkeypatch):
    def refuse(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("connection refused")

    # Only the connection is replaced: the view's own query path runs for real.
    monkeypatch.setattr(connection, "cursor", refuse)
    response = api_client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["database"] == "unavailable"


def refuse_connections(monkeypatch):
    def refuse(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)


@pytest.mark.parametrize("path", ["/health/live", "/health/live/"])
def test_liveness_answers_without_touching_the_database(api_client, monkeypatch, django_assert_num_queries, path):
    refuse_connections(monkeypatch)
    with django_assert_num_queries(0):
        response = api_client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


@pytest.fixture
def fresh_migration_verdict(monkeypatch):
    monkeypatch.setattr(MigrationState, "all_applied", False)


@pytest.mark.parametrize("path", ["/health/ready", "/health/ready/"])
def test_readiness_reports_each_check(api_client, fresh_migration_verdict, path):
    response = api_client.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "redis": "not configured", "jwks": "ok"},
    }


def test_readiness_is_503_when_the_database_cannot_be_reached(api_client, monkeypatch, fresh_migration_verdict):
    refuse_connections(monkeypatch)
    response = api_client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["database"] == "unavailable"
    assert response.json()["checks"]["migrations"] == "unknown"


def test_readiness_is_503_while_a_migration_is_pending(api_client, fresh_migration_verdict):
    # As if the release step had not run yet: the newest migration is on disk, not in the database.
    latest = MigrationLoader(connection).graph.leaf_nodes("tasks")[0]
    MigrationRecorder(connection).record_unapplied(*latest)
    response = api_client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "pending"
    MigrationRecorder(connection).record_applied(*latest)
    assert api_client.get("/health/ready").json()["checks"]["migrations"] == "ok"


def test_readiness_keeps_the_all_applied_verdict(api_client, fresh_migration_verdict, django_assert_max_num_queries):
    api_client.get("/health/ready")
    # Once every migration was seen applied, a probe costs the database one SELECT 1.
    with django_assert_max_num_queries(1):
        assert api_client.get("/health/ready").status_code == 200


def test_readiness_is_503_when_the_jwks_cannot_be_fetched(api_client, jwks_server, fresh_migration_verdict):
    jwks_server.available = False
    response = api_client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["jwks"] == "unavailable"


def test_readiness_accepts_cached_keys_while_better_auth_is_down(api_client, jwks_server, fresh_migration_verdict):
    assert api_client.get("/health/ready").json()["checks"]["jwks"] == "ok"
    jwks_server.available = False
    response = api_client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["jwks"] == "ok"


def test_readiness_needs_no_jwks_in_hs256_mode(api_client, settings, fresh_migration_verdict):
    settings.BETTER_AUTH_JWT_ALGORITHMS = ["HS256"]
    settings.BETTER_AUTH_SECRET = "s" * 40
    assert api_client.get("/health/ready").json()["checks"]["jwks"] == "not configured"


def test_readiness_checks_redis_when_configured(api_client, settings, fresh_migration_verdict):
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    assert api_client.get("/health/ready").json()["checks"]["redis"] == "ok"


def test_readiness_is_503_when_redis_cannot_be_reached(api_client, settings, fresh_migration_verdict):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = api_client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unavailable"


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready", "/metrics"])
def test_probes_are_not_redirected_to_https(api_client, settings, path):
    settings.SECURE_SSL_REDIRECT = True
    assert api_client.get(path).status_code != 301
    assert api_client.get("/api/tasks").status_code == 301


@pytest.mark.parametrize("path", ["/health/live", "/health/ready"])
def test_probes_are_never_throttled(api_client, settings, fresh_migration_verdict, path):
    settings.API_USER_THROTTLE_RATE = "1/minute"
    assert all(api_client.get(path).status_code == 200 for _ in range(5))
