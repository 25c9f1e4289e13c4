"""Several instances: three of the production web process (deploy/web.py: nginx in front of
gunicorn) behind a balancing nginx (deploy/balancer.conf), through PgBouncer, sharing Redis.

What one instance guarantees holds for three: the API through the balancer, idempotency keys
across instances, one rate-limit count, per-process JWKS caching; and a rolling deploy under
load (each instance replaced in turn) fails no request and loses no acknowledged write.
"""

import itertools
import logging
import threading
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

from .fleet import SHARED_POSTGRESQL, Balancer, PgBouncer, address_of, scratch_database
from .live import ProxiedWeb, call, require_postgresql
from .test_throttling import REDIS_URL, require_redis

logger = logging.getLogger(__name__)

INSTANCES = 3
WORKERS_PER_INSTANCE = 2


@pytest.fixture(scope="module")
def app_settings(session_jwks_server):
    require_postgresql()
    require_redis()
    return {
        "BETTER_AUTH_URL": session_jwks_server.origin,
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": f"test-fleet-{uuid.uuid4().hex}:",
        "API_USER_THROTTLE_RATE": "off",
        "DJANGO_SECRET_KEY": f"fleet-test-{uuid.uuid4().hex}{uuid.uuid4().hex}",
    }


@pytest.fixture(scope="module")
def fleet_database(app_settings):
    with scratch_database(app_settings) as name:
        yield name


@pytest.fixture(scope="module")
def fleet_env(app_settings, fleet_database):
    """The instances' environment: the scratch database through PgBouncer in transaction mode."""
    with PgBouncer() as pooler:
        yield {**app_settings, "DATABASE_URL": pooler.url(fleet_database), "DATABASE_POOLED": "1"}


def start_instance(env, **overrides):
    """One instance as the Procfile runs it: deploy/web.py, WEB_CONCURRENCY sync workers."""
    return ProxiedWeb({**env, "WEB_CONCURRENCY": str(WORKERS_PER_INSTANCE), **overrides})


@pytest.fixture(scope="module")
def fleet(fleet_env):
    instances = [start_instance(fleet_env) for _ in range(INSTANCES)]
    try:
        with Balancer([address_of(i) for i in instances]) as balancer:
            yield balancer, instances
    finally:
        for instance in instances:
            instance.stop()


def stored_ids(database, user_id):
    with (
        psycopg2.connect(f"{SHARED_POSTGRESQL}/{database}", connect_timeout=5) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT id FROM tasks_task WHERE user_id = %s", [user_id])
        return {row[0] for row in cursor.fetchall()}


def test_the_api_answers_through_the_balancer(fleet, make_token):
    balancer, _ = fleet
    url = f"{balancer.url}/api/tasks"
    token, other = make_token(f"fleet-{uuid.uuid4().hex}"), make_token(f"other-{uuid.uuid4().hex}")

    status, headers, task = call("POST", url, token=token, body={"title": "through nginx", "tags": ["a"]})
    assert (status, task["title"]) == (201, "through nginx")
    assert headers["Location"].endswith(f"/api/tasks/{task['id']}")
    status, headers, _ = call("GET", f"{url}/{task['id']}", token=token, headers={"If-None-Match": headers["ETag"]})
    assert status == 304
    assert (
        call("PATCH", f"{url}/{task['id']}", token=token, body={"title": "x"}, headers={"If-Match": '"99"'})[0] == 412
    )
    assert call("PATCH", f"{url}/{task['id']}/complete", token=token)[2]["completed"] is True
    assert [t["id"] for t in call("GET", url, token=token)[2]] == [task["id"]]
    assert call("GET", f"{url}/stats", token=token)[2]["completed"] == 1
    assert call("GET", f"{url}/{task['id']}", token=other)[0] == 404
    status, headers, body = call("GET", url)
    assert (status, headers["Content-Type"], headers["WWW-Authenticate"].startswith("Bearer")) == (
        401,
        "application/json",
        True,
    )
    assert call("POST", f"{url}/bulk", token=token, body={"delete": [task["id"]]})[:3:2] == (
        200,
        {"action": "delete", "count": 1},
    )
    assert call("GET", f"{url}/{task['id']}", token=token)[0] == 404


def requests_logged(instance):
    return Path(instance.log.name).read_text(errors="replace").count('"path": "/api/tasks"')


def test_requests_are_spread_over_every_instance(fleet, make_token):
    balancer, instances = fleet
    token = make_token(f"spread-{uuid.uuid4().hex}")
    before = [requests_logged(instance) for instance in instances]
    for _ in range(3 * INSTANCES):
        assert call("GET", f"{balancer.url}/api/tasks", token=token)[0] == 200
    after = [requests_logged(instance) for instance in instances]
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)


def send_at_once(creates, token):
    """POSTs each (instance url, Idempotency-Key, title) from its own thread, released together."""
    answers, barrier = [], threading.Barrier(len(creates))

    def send(url, key, title):
        barrier.wait()
        answers.append(
            call("POST", f"{url}/api/tasks", token=token, body={"title": title}, headers={"Idempotency-Key": key})
        )

    threads = [threading.Thread(target=send, args=create) for create in creates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_a_duplicate_create_sent_to_two_instances_at_once_creates_one_task(fleet, fleet_database, make_token):
    _, instances = fleet
    user_id = f"twice-{uuid.uuid4().hex}"
    token = make_token(user_id)
    for n in range(10):
        answers = send_at_once([(instance.url, f"key-{n}", f"once {n}") for instance in instances[:2]], token)
        assert [status for status, _, _ in answers] == [201, 201]
        assert len({body["id"] for _, _, body in answers}) == 1
        assert sorted(headers.get("Idempotent-Replayed", "") for _, headers, _ in answers) == ["", "true"]
    assert len(stored_ids(fleet_database, user_id)) == 10


def test_jwks_is_fetched_once_per_process_not_per_request(fleet, session_jwks_server, make_token):
    balancer, _ = fleet
    token = make_token(f"keys-{uuid.uuid4().hex}")
    for _ in range(3):  # every worker process has verified a token, and cached the keys
        for _ in range(4 * INSTANCES * WORKERS_PER_INSTANCE):
            call("GET", f"{balancer.url}/api/tasks", token=token)
    before = session_jwks_server.fetches
    statuses = {call("GET", f"{balancer.url}/api/tasks", token=token)[0] for _ in range(60)}
    assert statuses == {200}
    assert session_jwks_server.fetches == before


def test_the_rate_limit_is_one_count_across_instances(fleet_env, make_token):
    limited = [start_instance(fleet_env, API_USER_THROTTLE_RATE="10/minute") for _ in range(INSTANCES)]
    try:
        token = make_token(f"limited-{uuid.uuid4().hex}")
        statuses = [
            call("GET", f"{instance.url}/api/tasks", token=token)[0]
            for instance in itertools.islice(itertools.cycle(limited), 16)
        ]
    finally:
        for instance in limited:
            instance.stop()
    # Each instance counting alone would let 16 through (up to 10 each); one shared count lets 10.
    assert statuses == [200] * 10 + [429] * 6


class MixedLoad:
    """Threads creating and listing tasks through the balancer until stopped; every answer is kept."""

    def __init__(self, url, tokens, *, threads=6):
        self.url, self.tokens = url, tokens
        self.answers, self.acknowledged = [], {}
        self.lock = threading.Lock()
        self.running = True
        self.threads = [threading.Thread(target=self.work, args=(n,)) for n in range(threads)]

    def work(self, n):
        user_id, token = self.tokens[n % len(self.tokens)]
        for i in itertools.count():
            if not self.running:
                return
            request = (
                ("POST", f"{self.url}/api/tasks", {"title": f"w{n}-{i}"})
                if i % 2
                else ("GET", f"{self.url}/api/tasks?limit=20", None)
            )
            try:
                status, _, body = call(request[0], request[1], token=token, body=request[2], timeout=30)
            except (OSError, ValueError) as e:  # no answer, or one that is not JSON (nginx's own pages)
                status, body = None, repr(e)
            with self.lock:
                self.answers.append((request[0], status, body))
                if request[0] == "POST" and status == 201:
                    self.acknowledged.setdefault(user_id, set()).add(body["id"])

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        for thread in self.threads:
            thread.join(timeout=60)


def test_replacing_every_instance_under_load_drops_no_request_and_loses_no_write(fleet_env, fleet_database, make_token):
    users = [f"deploy-{n}-{uuid.uuid4().hex}" for n in range(3)]
    instances = [start_instance(fleet_env) for _ in range(INSTANCES)]
    balancer = Balancer([address_of(i) for i in instances])
    try:
        with MixedLoad(balancer.url, [(u, make_token(u)) for u in users]) as load:
            time.sleep(2)
            for n in range(INSTANCES):
                # What a platform does on deploy: start the new one, route to it, stop the old one.
                replacement = start_instance(fleet_env)
                old = instances[n]
                instances[n] = replacement
                balancer.route_to([address_of(i) for i in instances])
                old.stop()
                time.sleep(1)
            time.sleep(1)
    finally:
        balancer.stop()
        for instance in instances:
            instance.stop()

    failed = [answer for answer in load.answers if answer[1] not in (200, 201)]
    writes = sum(1 for answer in load.answers if answer[0] == "POST")
    assert writes >= 50 and len(load.answers) - writes >= 50, "the load was too small to show anything"
    assert failed == []
    for user_id in users:
        assert load.acknowledged.get(user_id, set()) == stored_ids(fleet_database, user_id)
    logger.warning(
        "rolling deploy of %d instances: %d requests (%d writes) through nginx, %d failed, %d writes acknowledged and stored",
        INSTANCES,
        len(load.answers),
        writes,
        len(failed),
        sum(len(ids) for ids in load.acknowledged.values()),
    )
