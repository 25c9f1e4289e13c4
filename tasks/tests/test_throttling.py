"""Per-user rate limiting: 429 with Retry-After, shared across workers through Redis."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.core.cache import cache

from .live import Gunicorn, app_env, call, in_ci, require_postgresql

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def limited(settings):
    """3 requests a minute, counted from zero (the per-process cache forgets earlier tests' counts)."""
    settings.API_USER_THROTTLE_RATE = "3/minute"
    cache.clear()
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
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
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


def test_twice_the_limit_in_parallel_lets_at_most_the_limit_plus_one_per_worker_through(
    transactional_db, jwks_server, make_token
):
    require_postgresql()
    require_redis()
    limit, workers = 40, 3
    env = app_env(
        jwks_server,
        REDIS_URL=REDIS_URL,
        API_USER_THROTTLE_RATE=f"{limit}/minute",
        REDIS_KEY_PREFIX=f"test-{uuid.uuid4().hex}:",
    )
    token = make_token(f"user-{uuid.uuid4().hex}")
    with Gunicorn(env, workers=workers, threads=4) as server, ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(lambda _: call("GET", f"{server.url}/api/tasks", token=token)[0], range(2 * limit)))
    assert set(statuses) == {200, 429}
    assert limit <= statuses.count(200) <= limit + workers


@pytest.fixture
def shared_redis(settings):
    """The real Redis as the counter store, under a key prefix no other run uses."""
    require_redis()
    settings.REDIS_URL = REDIS_URL
    settings.REDIS_KEY_PREFIX = f"test-{uuid.uuid4().hex}:"
    yield redis.Redis.from_url(REDIS_URL)


def test_redis_counter_refuses_beyond_the_rate_and_expires_with_its_window(auth_client, limited, shared_redis):
    user = f"user-{uuid.uuid4().hex}"
    client = auth_client(user)
    assert [client.get("/api/tasks").status_code for _ in range(4)] == [200, 200, 200, 429]
    key = f"{limited.REDIS_KEY_PREFIX}throttle_user_{user}"
    assert int(shared_redis.get(key)) == 4
    assert 0 < shared_redis.pttl(key) <= 60_000
    retry_after = int(client.get("/api/tasks")["Retry-After"])
    assert 0 < retry_after <= 60


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready"])
def test_health_is_never_throttled(api_client, limited, path):
    statuses = {api_client.get(path).status_code for _ in range(10)}
    assert len(statuses) == 1 and 429 not in statuses


def test_anonymous_requests_are_counted_per_trusted_address_not_per_forwarded_header(api_client, limited):
    statuses = [api_client.get("/api/schema/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_behind_one_proxy_each_client_address_has_its_own_count(api_client, limited):
    limited.TRUSTED_PROXY_COUNT = 1
    for _ in range(3):
        api_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert api_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1").status_code == 429
    assert api_client.get("/api/schema/", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200
