"""Prometheus metrics: what is counted, who may read /metrics, and the sum over gunicorn workers."""

import re
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tasks.metrics import route_template

from .live import Gunicorn, call, database_url, require_postgresql
from .test_throttling import REDIS_URL, require_redis

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "metrics-" + uuid.uuid4().hex


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


@pytest.mark.parametrize(
    "route, template",
    [
        pytest.param("api/tasks/?$", "/api/tasks", id="list"),
        pytest.param(
            "api/(?P<user_id>[^/]+)/tasks/(?P<pk>[0-9]+)/complete/?$",
            "/api/{user_id}/tasks/{pk}/complete",
            id="regex-groups",
        ),
        pytest.param("^health/ready/?$", "/health/ready", id="anchored"),
        pytest.param(
            "admin/tasks/task/<path:object_id>/change/", "/admin/tasks/task/{object_id}/change", id="path-converter"
        ),
    ],
)
def test_routes_are_labelled_by_their_template(route, template):
    assert route_template(route) == template


def test_metrics_are_not_served_without_a_configured_token(api_client, settings):
    settings.METRICS_TOKEN = ""
    assert api_client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x"])
def test_metrics_refuse_a_missing_or_wrong_token(api_client, metrics_token, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = api_client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"taskapi_" not in response.content


def test_metrics_are_served_with_the_token(api_client, metrics_token):
    response = api_client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {metrics_token}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {"taskapi_http_requests", "taskapi_http_request_duration_seconds", "taskapi_db_queries_per_request"} <= names


def test_requests_are_counted_by_route_template_and_status(auth_client):
    labels = {"method": "GET", "route": "/api/tasks/{pk}", "status": "404"}
    before = sample("taskapi_http_requests_total", **labels)
    timed_before = sample("taskapi_http_request_duration_seconds_count", **labels)
    for task_id in (11, 12, 13):
        assert auth_client("user-a").get(f"/api/tasks/{task_id}").status_code == 404
    assert sample("taskapi_http_requests_total", **labels) == before + 3
    assert sample("taskapi_http_request_duration_seconds_count", **labels) == timed_before + 3


def test_database_queries_are_counted_per_request(auth_client, make_task):
    make_task("user-a")
    client = auth_client("user-a")
    count_before = sample("taskapi_db_queries_per_request_count", route="/api/tasks")
    sum_before = sample("taskapi_db_queries_per_request_sum", route="/api/tasks")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/tasks").status_code == 200
    assert len(queries) > 0
    assert sample("taskapi_db_queries_per_request_count", route="/api/tasks") == count_before + 1
    assert sample("taskapi_db_queries_per_request_sum", route="/api/tasks") == sum_before + len(queries)
    assert sample("taskapi_db_query_seconds_per_request_sum", route="/api/tasks") > 0


def test_token_rejections_are_counted_by_code(api_client, make_token):
    before = {
        code: sample("taskapi_token_rejections_total", code=code) for code in ("token_not_valid", "token_expired")
    }
    api_client.get("/api/tasks", HTTP_AUTHORIZATION="Bearer not.a.token")
    api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {make_token(exp=int(time.time()) - 3600)}")
    assert sample("taskapi_token_rejections_total", code="token_not_valid") == before["token_not_valid"] + 1
    assert sample("taskapi_token_rejections_total", code="token_expired") == before["token_expired"] + 1


def test_throttled_requests_are_counted(auth_client, settings):
    settings.API_USER_THROTTLE_RATE = "2/minute"
    client = auth_client(f"user-{uuid.uuid4().hex}")
    before = sample("taskapi_throttled_requests_total")
    statuses = [client.get("/api/tasks").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    assert sample("taskapi_throttled_requests_total") == before + 2


def test_idempotent_replays_are_counted(auth_client):
    client = auth_client("user-a")
    before = sample("taskapi_idempotent_replays_total")
    for _ in range(3):
        client.post("/api/tasks", {"title": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="metrics-replay")
    assert sample("taskapi_idempotent_replays_total") == before + 2


def test_jwks_fetches_and_failures_are_counted(auth_client, jwks_server, settings):
    """Each fetch the JWKS server answers is counted once, by outcome."""
    settings.BETTER_AUTH_JWKS_REFRESH_COOLDOWN = 0
    ok, failed = (
        sample("taskapi_jwks_fetches_total", outcome="ok"),
        sample("taskapi_jwks_fetches_total", outcome="failed"),
    )
    jwks_server.available = False
    served = jwks_server.fetches
    assert auth_client("user-a").get("/api/tasks").status_code == 503
    refused_fetches, served = jwks_server.fetches - served, jwks_server.fetches
    jwks_server.available = True
    assert auth_client("user-a").get("/api/tasks").status_code == 200
    good_fetches = jwks_server.fetches - served
    assert refused_fetches >= 1 and good_fetches == 1
    assert sample("taskapi_jwks_fetches_total", outcome="failed") == failed + refused_fetches
    assert sample("taskapi_jwks_fetches_total", outcome="ok") == ok + good_fetches


def scrape(url, token):
    status, _, _ = call("GET", f"{url}/metrics", headers={"Authorization": "Bearer wrong"})
    assert status == 401
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        families = text_string_to_metric_families(response.read().decode())
        return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in families for s in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_a_scrape_adds_up_every_gunicorn_worker(transactional_db, jwks_server, make_token, tmp_path):
    """Real traffic through 3 workers that restart every 10 requests; any worker's scrape sums them all."""
    require_postgresql()
    require_redis()
    env = {
        "DATABASE_URL": database_url(),
        "BETTER_AUTH_URL": jwks_server.origin,
        "REDIS_URL": REDIS_URL,
        "API_USER_THROTTLE_RATE": "5/minute",
        "METRICS_TOKEN": METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "GUNICORN_MAX_REQUESTS": "10",
        "GUNICORN_MAX_REQUESTS_JITTER": "0",
    }
    fetches_before = jwks_server.fetches
    with Gunicorn(env, workers=3, threads=1) as server:
        api = f"{server.url}/api/tasks"
        tokens = [make_token(f"user-{uuid.uuid4().hex}") for _ in range(40)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            listed = list(pool.map(lambda token: call("GET", api, token=token)[0], tokens))
        throttled_user = make_token(f"user-{uuid.uuid4().hex}")
        limited = [call("GET", api, token=throttled_user)[0] for _ in range(8)]
        rejected = [call("GET", api, token="not.a.token")[0] for _ in range(5)]
        creator = make_token(f"user-{uuid.uuid4().hex}")
        created = [
            call("POST", api, token=creator, body={"title": "Once"}, headers={"Idempotency-Key": "scrape-1"})[0]
            for _ in range(2)
        ]
        scrapes = [scrape(server.url, METRICS_TOKEN) for _ in range(6)]

    assert (listed, limited, rejected, created) == ([200] * 40, [200] * 5 + [429] * 3, [401] * 5, [201, 201])
    worker_pids = {re.search(r"_(\d+)\.db$", path.name).group(1) for path in tmp_path.glob("counter_*.db")}
    assert len(worker_pids) > 3  # the 3 first workers, and those that replaced them after 10 requests
    for samples in scrapes:
        assert value(samples, "taskapi_http_requests_total", method="GET", route="/api/tasks", status="200") == 45
        assert value(samples, "taskapi_http_requests_total", method="GET", route="/api/tasks", status="429") == 3
        assert value(samples, "taskapi_http_requests_total", method="GET", route="/api/tasks", status="401") == 5
        assert value(samples, "taskapi_http_requests_total", method="POST", route="/api/tasks", status="201") == 2
        assert (
            value(
                samples, "taskapi_http_request_duration_seconds_count", method="GET", route="/api/tasks", status="200"
            )
            == 45
        )
        assert value(samples, "taskapi_db_queries_per_request_count", route="/api/tasks") == 55
        assert value(samples, "taskapi_throttled_requests_total") == 3
        assert value(samples, "taskapi_token_rejections_total", code="token_not_valid") == 5
        assert value(samples, "taskapi_idempotent_replays_total") == 1
        assert value(samples, "taskapi_jwks_fetches_total", outcome="ok") == jwks_server.fetches - fetches_before
