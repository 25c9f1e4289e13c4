"""Several instances: three of the production web process (deploy/web.py: nginx in front of
gunicorn) behind a balancing nginx (deploy/balancer.conf), through PgBouncer, sharing Redis.

What one instance guarantees holds for three: the whole API through the balancer (both
generated-client sessions and the schemathesis run, on fresh users of the shared database),
idempotency keys across instances, one rate-limit count, per-process JWKS caching; the balancer's
own refusals are JSON, the instances' answers pass through it untouched; and a rolling deploy
under load (each instance replaced in turn) fails no request and loses no acknowledged write.
"""

import contextlib
import itertools
import json
import logging
import threading
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

from .fleet import SHARED_POSTGRESQL, Balancer, PgBouncer, address_of, scratch_database
from .live import Load, ProxiedWeb, call, free_port, raw_request, require_postgresql
from .test_generated_clients import MAX_BODY_BYTES, python_client_session, typescript_session
from .test_schema_fuzz import schemathesis_run
from .test_throttling import REDIS_URL, require_redis
from .test_web import NGINX_REFUSALS

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
        # The generated-client sessions expect the limit their single server has (the balancer's
        # own limit stays the default, larger: the instances refuse such bodies themselves).
        "API_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
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


def fresh_users(name):
    """Two user ids no other test (or earlier run) on the fleet's database has used."""
    run = uuid.uuid4().hex
    return f"{name}-a-{run}", f"{name}-b-{run}"


def test_the_typescript_client_session_passes_through_the_balancer(fleet, make_token):
    balancer, _ = fleet
    typescript_session(balancer.url, make_token, fresh_users("ts"))


def test_the_python_client_session_passes_through_the_balancer(fleet, make_token, tmp_path):
    balancer, _ = fleet
    python_client_session(balancer.url, make_token, fresh_users("py"), tmp_path)


def test_schemathesis_finds_nothing_through_the_balancer(fleet, make_token, tmp_path):
    balancer, _ = fleet
    schemathesis_run(balancer.url, make_token, f"fuzz-{uuid.uuid4().hex}", tmp_path)


@pytest.mark.parametrize("request_bytes, status, code", NGINX_REFUSALS)
def test_the_balancers_own_refusals_are_json(fleet, request_bytes, status, code):
    balancer, _ = fleet
    answer_status, head, body = raw_request(balancer.port, request_bytes)
    assert answer_status == status
    assert "Content-Type: application/json" in head
    assert json.loads(body)["code"] == code


SERVICE_UNAVAILABLE = {"detail": "The service is unavailable; try again shortly.", "code": "service_unavailable"}


def test_with_every_instance_down_the_balancer_answers_a_json_503(fleet_env, make_token):
    token = make_token(f"down-{uuid.uuid4().hex}")
    instance = start_instance(fleet_env)
    # Two instances: one stopped below, one whose address nothing ever listened on.
    with Balancer([address_of(instance), f"127.0.0.1:{free_port()}"]) as balancer:
        assert call("GET", f"{balancer.url}/api/tasks", token=token)[0] == 200
        instance.stop()
        answers = [
            call("GET", f"{balancer.url}/api/tasks", token=token),
            call("POST", f"{balancer.url}/api/tasks", token=token, body={"title": "nobody to take it"}),
        ]
    for status, headers, body in answers:
        assert (status, headers["Content-Type"], headers["Retry-After"]) == (503, "application/json", "5")
        assert body == SERVICE_UNAVAILABLE


# Answers an instance gives (its app, or its own nginx for the body too large for the instances):
# through the balancer they arrive as they left the instance, never replaced by the balancer's pages.
INSTANCE_ANSWERS = [
    pytest.param("GET", "/api/tasks/{id}0", {}, None, id="404-no-such-task"),
    pytest.param("GET", "/api/no/such/route", {}, None, id="404-no-route"),
    pytest.param("GET", "/api/tasks", {"Authorization": "Bearer not-a-token"}, None, id="401-bad-token"),
    pytest.param("PATCH", "/api/tasks/{id}", {"If-Match": '"99"'}, {"title": "x"}, id="412-stale-if-match"),
    pytest.param("DELETE", "/api/tasks", {}, None, id="405-method"),
    pytest.param("GET", "/api/tasks/stats", {"Accept": "text/html"}, None, id="406-html"),
    pytest.param("POST", "/api/tasks", {}, {"title": "x", "description": "d" * 20000}, id="413-instance-limit"),
]
# What differs between two answers to one request, whoever passes them on.
PER_ANSWER_HEADERS = {"date", "connection", "keep-alive", "x-request-id"}


def comparable(answer):
    status, headers, body = answer
    return (
        status,
        {name.lower(): value for name, value in headers.items() if name.lower() not in PER_ANSWER_HEADERS},
        body,
    )


@pytest.mark.parametrize("method, path, headers, body", INSTANCE_ANSWERS)
def test_the_instances_answers_pass_through_the_balancer_untouched(fleet, make_token, method, path, headers, body):
    balancer, instances = fleet
    token = make_token(f"through-{uuid.uuid4().hex}")
    task = call("POST", f"{balancer.url}/api/tasks", token=token, body={"title": "mine"})[2]
    path, headers = path.format(id=task["id"]), {"Authorization": f"Bearer {token}", **headers}
    direct = call(method, f"{instances[0].url}{path}", headers=headers, body=body)
    through = call(method, f"{balancer.url}{path}", headers=headers, body=body)
    assert direct[0] >= 400 and direct[2] is not None
    assert comparable(through) == comparable(direct)


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


# Each user's load: reads and creates in turn.
MIXED = [("GET", "/api/tasks?limit=20", None), ("POST", "/api/tasks", {"title": "written during the deploy"})]


def test_replacing_every_instance_under_load_drops_no_request_and_loses_no_write(fleet_env, fleet_database, make_token):
    users = [f"deploy-{n}-{uuid.uuid4().hex}" for n in range(3)]
    instances = [start_instance(fleet_env) for _ in range(INSTANCES)]
    balancer = Balancer([address_of(i) for i in instances])
    try:
        with contextlib.ExitStack() as loads:
            per_user = {u: loads.enter_context(Load(balancer.url, make_token(u), MIXED, threads=2)) for u in users}
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

    answers = [answer for load in per_user.values() for answer in load.answers]
    failed = [answer for answer in answers if answer.status not in (200, 201)]
    writes = sum(1 for answer in answers if answer.method == "POST")
    assert writes >= 50 and len(answers) - writes >= 50, "the load was too small to show anything"
    assert failed == []
    for user_id, load in per_user.items():
        assert set(load.acknowledged) == stored_ids(fleet_database, user_id)
    logger.warning(
        "rolling deploy of %d instances: %d requests (%d writes) through nginx, %d failed, %d writes acknowledged and stored",
        INSTANCES,
        len(answers),
        writes,
        len(failed),
        sum(len(load.acknowledged) for load in per_user.values()),
    )
