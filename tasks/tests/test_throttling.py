"""Per-user rate limiting: 429 with Retry-After, shared across workers through Redis."""
import uuid

import pytest
import redis

from .live import Gunicorn, app_env, call, in_ci, require_postgresql

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def limited(settings):
    settings.API_USER_THROTTLE_RATE = "3/minute"
    return settings


def require_redis():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if in_ci():
            pytest.fail("Redis is required at 127.0.0.1:6379 in CI")
        pytest.skip("Redis is not running on 127.0.0.1:6379")


def test_requests_beyond_the_rate_get_429_with_retry_after(auth_client, limited):
    client = auth_client(f"user-{uuid.uuid4().hex}")
    assert [client.get("/api/tasks").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/tasks")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["detail"].startswith("Request was throttled.")


def test_the_limit_is_per_user(auth_client, limited):
    first, second = auth_client(f"user-{uuid.uuid4().hex}"), auth_client(f"user-{uuid.uuid4().hex}")
    for _ in range(3):
        first.get("/api/tasks")
    assert first.get("/api/tasks").status_code == 429
    assert second.get("/api/tasks").status_code == 200


def test_off_disables_the_limit(auth_client, settings):
    settings.API_USER_THROTTLE_RATE = None
    client = auth_client(f"user-{uuid.uuid4().hex}")
    assert {client.get("/api/tasks").status_code for _ in range(20)} == {200}


def test_default_rate_lets_a_page_of_500_creates_through(auth_client, settings):
    settings.API_USER_THROTTLE_RATE = "1200/minute"
    client = auth_client(f"user-{uuid.uuid4().hex}")
    statuses = {client.post("/api/tasks", {"title": f"t{i}"}, format="json").status_code for i in range(500)}
    statuses.add(client.get("/api/tasks?limit=500").status_code)
    assert statuses == {201, 200}


def test_unreachable_redis_lets_requests_through(auth_client, limited, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    client = auth_client(f"user-{uuid.uuid4().hex}")
    assert {client.get("/api/tasks").status_code for _ in range(5)} == {200}


def test_redis_counter_is_shared_by_gunicorn_workers(transactional_db, jwks_server, make_token):
    require_postgresql()
    require_redis()
    env = app_env(jwks_server, REDIS_URL=REDIS_URL, API_USER_THROTTLE_RATE="10/minute")
    token = make_token(f"user-{uuid.uuid4().hex}")
    with Gunicorn(env, workers=3, threads=1) as server:
        statuses = [call("GET", f"{server.url}/api/tasks", token=token)[0] for _ in range(16)]
    # Each worker counting alone would let up to 30 through; one shared counter lets 10.
    assert statuses == [200] * 10 + [429] * 6
