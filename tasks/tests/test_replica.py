"""Read replicas: reads from a real streaming replica, each person's own writes always visible.

The live tests build a primary and a streaming standby of their own on loopback (initdb,
`pg_basebackup -R`, a second server), serve taskapi from two gunicorn instances sharing Redis,
and pause the standby's replay (`pg_wal_replay_pause()`) so that it lags by as much as they like.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import psycopg2
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tasks import replica

from .live import PROJECT_DIR, Gunicorn, call, free_port
from .test_faults import Cluster, postgresql_bin_dir, wait_for
from .test_throttling import REDIS_URL, require_redis

REPLICA_CONNECT_TIMEOUT = 1
COOLDOWN = 1
RESPONSE_TIMEOUT = 3


@pytest.mark.parametrize(
    "lsn, expected",
    [
        pytest.param("0/0", 0, id="zero"),
        pytest.param("0/16B3748", 0x16B3748, id="low-half-only"),
        pytest.param("1/0", 1 << 32, id="high-half-only"),
        pytest.param("16/B374D848", (0x16 << 32) | 0xB374D848, id="both-halves"),
        pytest.param("FFFFFFFF/FFFFFFFF", (1 << 64) - 1, id="largest"),
    ],
)
def test_wal_positions_are_read_as_one_integer(lsn, expected):
    assert replica.lsn_to_int(lsn) == expected


def test_writes_and_migrations_stay_on_the_primary():
    router = replica.ReplicaRouter()
    assert router.db_for_write(None) == "default"
    assert router.allow_migrate("replica", "tasks") is False
    assert router.allow_migrate("default", "tasks") is None


def test_reads_outside_an_api_read_use_the_primary():
    """The admin, commands and writes never set the request's read alias, so the router has no opinion."""
    assert replica.ReplicaRouter().db_for_read(None) is None


@pytest.fixture(params=["redis", "local-memory"])
def position_store(request, settings):
    if request.param == "redis":
        require_redis()
        settings.REDIS_URL = REDIS_URL
    else:
        settings.REDIS_URL = ""
    settings.REDIS_KEY_PREFIX = f"test-replica-{uuid.uuid4().hex}:"
    settings.DATABASE_REPLICA_MARK_SECONDS = 60
    return settings


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(positions=st.lists(st.integers(min_value=0, max_value=(1 << 64) - 1), min_size=1, max_size=6))
def test_a_persons_stored_position_is_the_furthest_of_their_writes(position_store, positions):
    user_id = uuid.uuid4().hex
    for position in positions:
        replica.remember_position(user_id, position)
    assert replica.last_position(user_id) == max(positions)


def test_a_person_without_writes_has_no_position(position_store):
    assert replica.last_position(uuid.uuid4().hex) is None


def test_stored_positions_expire(position_store):
    user_id = uuid.uuid4().hex
    position_store.DATABASE_REPLICA_MARK_SECONDS = 1
    replica.remember_position(user_id, 5)
    assert replica.last_position(user_id) == 5
    assert wait_for(lambda: replica.last_position(user_id) is None, timeout=5)


def manage_check(**env):
    variables = {**os.environ, "DJANGO_SECRET_KEY": "test-only-" + "x" * 50, **env}
    for name in ("DATABASE_URL", "REDIS_URL"):
        if env.get(name) is None:
            variables.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_DIR,
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_replica_needs_a_postgresql_primary():
    result = manage_check(DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:1/replica")
    assert result.returncode == 1
    assert "tasks.E020" in result.stderr


def test_a_replica_without_redis_is_warned_about():
    replica_of = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/primary",
        "DATABASE_REPLICA_URL": "postgres://postgres@127.0.0.1:1/replica",
    }
    assert "tasks.W020" in manage_check(**replica_of).stderr
    assert "tasks.W020" not in manage_check(**replica_of, REDIS_URL=REDIS_URL).stderr


class Standby(Cluster):
    """A streaming replica of `primary` (`pg_basebackup -R`), started on a port of its own."""

    def __init__(self, primary):
        self.bin_dir = primary.bin_dir
        self.port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="taskapi-standby-")
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        self.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            self.data_dir,
            "-R",
            "--checkpoint=fast",
            "--no-sync",
        )
        self.start()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def query(self, sql, *params):
        return query(self.url, sql, *params)

    def pause_replay(self):
        self.query("SELECT pg_wal_replay_pause()")
        assert wait_for(lambda: self.query("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused", timeout=10)

    def resume_replay(self):
        self.query("SELECT pg_wal_replay_resume()")

    def catch_up(self, primary):
        """Resumes replay and waits until everything the primary has written is replayed here."""
        self.resume_replay()
        target = query(primary.url, "SELECT pg_current_wal_lsn()")[0][0]
        assert wait_for(lambda: self.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", target)[0][0], 30)

    def titles_of(self, user_id):
        return {row[0] for row in self.query("SELECT title FROM tasks_task WHERE user_id = %s", user_id)}


def query(url, sql, *params):
    connection = psycopg2.connect(url, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def primary():
    cluster = Cluster(postgresql_bin_dir())
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="module")
def standby(primary):
    server = Standby(primary)
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def app_env(primary, standby, session_jwks_server):
    require_redis()
    env = {
        "DATABASE_URL": primary.url,
        "DATABASE_REPLICA_URL": standby.url,
        "DATABASE_REPLICA_CONNECT_TIMEOUT": str(REPLICA_CONNECT_TIMEOUT),
        "CIRCUIT_BREAKER_COOLDOWN": str(COOLDOWN),
        "DATABASE_RESPONSE_TIMEOUT": str(RESPONSE_TIMEOUT),
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": f"test-replica-{uuid.uuid4().hex}:",
        "BETTER_AUTH_URL": session_jwks_server.origin,
        "API_USER_THROTTLE_RATE": "off",
        "DJANGO_SECRET_KEY": f"replica-test-{uuid.uuid4().hex}{uuid.uuid4().hex}",
    }
    manage("migrate", "--noinput", "-v0", env=env)
    return env


@pytest.fixture(scope="module")
def instances(app_env):
    """Two app instances on the same primary, replica and Redis, as behind a load balancer."""
    with Gunicorn(app_env, workers=2, threads=2) as first, Gunicorn(app_env, workers=2, threads=2) as second:
        yield first, second


@pytest.fixture
def lagging(standby, primary):
    """The standby stops replaying (it keeps receiving WAL); afterwards it catches up."""
    standby.pause_replay()
    yield standby
    standby.catch_up(primary)


def import_tasks(app_env, user_id, *titles):
    """`manage.py import_tasks` into the primary, as an operator (no API write, no stored position)."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as rows:
        rows.writelines(json.dumps({"user_id": user_id, "title": title}) + "\n" for title in titles)
        rows.flush()
        manage("import_tasks", rows.name, env=app_env)


def manage(*args, env):
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=120,
    )


def titles(instance, token):
    status, _, body = call("GET", f"{instance.url}/api/tasks?limit=500", token=token)
    assert status == 200, body
    return frozenset(task["title"] for task in body)


def test_every_read_after_a_write_shows_it_while_the_replica_lags(instances, lagging, make_token):
    first, second = instances
    user_id = f"writer-{uuid.uuid4().hex}"
    token = make_token(user_id)
    for n in range(5):
        writer, reader = (first, second) if n % 2 == 0 else (second, first)
        status, _, task = call("POST", f"{writer.url}/api/tasks", token=token, body={"title": f"t{n}"})
        assert status == 201
        status, _, seen = call("GET", f"{reader.url}/api/tasks/{task['id']}", token=token)
        assert (status, seen["title"]) == (200, f"t{n}")
        assert f"t{n}" in titles(reader, token)
        status, _, renamed = call(
            "PATCH", f"{reader.url}/api/tasks/{task['id']}", token=token, body={"title": f"renamed{n}"}
        )
        assert status == 200
        assert call("GET", f"{writer.url}/api/tasks/{task['id']}", token=token)[2]["title"] == f"renamed{n}"
        assert call("GET", f"{writer.url}/api/tasks/stats", token=token)[2]["total"] == n + 1

    assert call("DELETE", f"{first.url}/api/tasks/{task['id']}", token=token)[0] == 204
    assert call("GET", f"{second.url}/api/tasks/{task['id']}", token=token)[0] == 404
    assert titles(second, token) == {f"renamed{n}" for n in range(4)}
    assert call("GET", f"{second.url}/api/tasks/stats", token=token)[2]["total"] == 4
    # The replica really lags: none of these writes has reached it.
    assert lagging.titles_of(user_id) == set()


def test_reads_of_someone_without_recent_writes_come_from_the_replica(instances, app_env, lagging, make_token, primary):
    user_id = f"reader-{uuid.uuid4().hex}"
    token = make_token(user_id)
    import_tasks(app_env, user_id, "on the primary only")

    assert {titles(instance, token) for instance in instances} == {frozenset()}
    assert call("GET", f"{instances[0].url}/api/tasks/stats", token=token)[2]["total"] == 0

    lagging.catch_up(primary)
    assert {titles(instance, token) for instance in instances} == {frozenset({"on the primary only"})}


def test_a_persons_reads_return_to_the_replica_once_it_has_replayed_their_writes(
    instances, app_env, standby, primary, make_token
):
    user_id = f"returning-{uuid.uuid4().hex}"
    token = make_token(user_id)
    assert call("POST", f"{instances[0].url}/api/tasks", token=token, body={"title": "through the API"})[0] == 201
    standby.catch_up(primary)
    standby.pause_replay()
    try:
        import_tasks(app_env, user_id, "on the primary only")
        assert titles(instances[1], token) == {"through the API"}
    finally:
        standby.catch_up(primary)


def test_reads_fall_back_to_the_primary_when_the_replica_is_down(instances, app_env, standby, primary, make_token):
    user_id = f"fallback-{uuid.uuid4().hex}"
    token = make_token(user_id)
    standby.crash()
    try:
        import_tasks(app_env, user_id, "written while the replica is down")
        for _ in range(3):
            for instance in instances:
                started = time.monotonic()
                assert titles(instance, token) == {"written while the replica is down"}
                assert time.monotonic() - started < REPLICA_CONNECT_TIMEOUT + 4
    finally:
        standby.start()

    # Back up and past the retry period, the replica serves reads again (it lags: the row is missing).
    standby.catch_up(primary)
    standby.pause_replay()
    try:
        import_tasks(app_env, user_id, "on the primary only")
        time.sleep(COOLDOWN + 0.5)
        assert wait_for(
            lambda: all(titles(i, token) == {"written while the replica is down"} for i in instances), timeout=10
        )
    finally:
        standby.catch_up(primary)


def test_a_frozen_replica_sends_reads_to_the_primary_and_leaves_the_primary_trusted(
    instances, app_env, standby, make_token
):
    """A replica that hangs (SIGSTOP) costs a read at most its deadlines; writes never notice it."""
    user_id = f"frozen-{uuid.uuid4().hex}"
    token = make_token(user_id)
    standby.freeze()
    try:
        import_tasks(app_env, user_id, "written while the replica is frozen")
        for n in range(4):
            for instance in instances:
                started = time.monotonic()
                assert titles(instance, token) >= {"written while the replica is frozen"}
                assert time.monotonic() - started < RESPONSE_TIMEOUT + REPLICA_CONNECT_TIMEOUT + 5
                status, _, body = call("POST", f"{instance.url}/api/tasks", token=token, body={"title": f"w{n}"})
                assert status == 201, body
    finally:
        standby.thaw()
