"""GET /health: no token, database reachability."""
import pytest
from django.db import connection

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
