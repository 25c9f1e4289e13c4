"""Faults: PostgreSQL dies and comes back while writes flow; no acknowledged write is lost.

The test runs its own throw-away PostgreSQL cluster on a free loopback port (the shared one
also holds pytest's database), serves taskapi from it under gunicorn, and kills the cluster
with `pg_ctl stop -m immediate` (a crash: no shutdown checkpoint) in the middle of the load.
"""
import glob
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import psycopg2
import pytest

from .live import PROJECT_DIR, Gunicorn, call, free_port, in_ci

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2
LOAD_THREADS = 8


def postgresql_bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return os.path.dirname(found[-1])
    if in_ci():
        pytest.fail("PostgreSQL server binaries are required in CI")
    pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


class Cluster:
    """A private PostgreSQL cluster; as root, its commands run as the `postgres` user."""

    def __init__(self, bin_dir):
        self.bin_dir = bin_dir
        self.port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="taskapi-faults-")
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        self.run("initdb", "-D", self.data_dir, "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, program, *args):
        command = [os.path.join(self.bin_dir, program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} -c fsync=on"
        log = os.path.join(self.data_dir, "server.log")
        self.run("pg_ctl", "-D", self.data_dir, "-o", options, "-l", log, "-w", "-t", "30", "start")

    def crash(self):
        self.run("pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "stop")

    def destroy(self):
        try:
            self.crash()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture
def cluster():
    cluster = Cluster(postgresql_bin_dir())
    yield cluster
    cluster.destroy()


@pytest.fixture
def server(cluster, jwks_server):
    env = {
        "DATABASE_URL": cluster.url,
        "DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "BETTER_AUTH_URL": jwks_server.origin,
        "API_USER_THROTTLE_RATE": "off",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=PROJECT_DIR, env={**os.environ, **env}, check=True, timeout=120,
    )
    with Gunicorn(env, workers=2, threads=4) as gunicorn:
        yield gunicorn


class WriteLoad:
    """Threads creating tasks until stopped, logging every answer and every acknowledged id."""

    def __init__(self, url, token):
        self.url, self.token = url, token
        self.acknowledged, self.answers = [], []
        self.lock = threading.Lock()
        self.running = True
        self.threads = [threading.Thread(target=self.work, args=(n,)) for n in range(LOAD_THREADS)]

    def work(self, n):
        i = 0
        while self.running:
            i += 1
            started = time.monotonic()
            try:
                status, headers, body = call("POST", f"{self.url}/api/tasks", token=self.token,
                                             body={"title": f"w{n}-{i}"}, timeout=CONNECT_TIMEOUT + 8)
            except OSError as e:
                status, headers, body = None, {}, repr(e)
            with self.lock:
                self.answers.append((status, headers.get("Content-Type"), body, time.monotonic() - started))
                if status == 201:
                    self.acknowledged.append(body["id"])

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        for thread in self.threads:
            thread.join(timeout=30)


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_database_crash_gives_503_then_recovers_and_keeps_every_acknowledged_write(
    cluster, server, make_token
):
    with WriteLoad(server.url, make_token("user-faults")) as load:
        assert wait_for(lambda: len(load.acknowledged) >= 50, timeout=20)
        cluster.crash()
        during = len(load.answers)
        assert wait_for(lambda: any(a[0] == 503 for a in load.answers[during:]), timeout=15)
        health_status, _, health = call("GET", f"{server.url}/health", timeout=CONNECT_TIMEOUT + 8)
        time.sleep(1)
        cluster.start()
        after = len(load.acknowledged)
        assert wait_for(lambda: len(load.acknowledged) >= after + 50, timeout=30), server.output()

    assert (health_status, health["status"]) == (503, "unhealthy")
    assert call("GET", f"{server.url}/health")[0] == 200
    failures = [a for a in load.answers if a[0] != 201]
    assert failures, "the crash should have failed some requests"
    for status, content_type, body, seconds in failures:
        assert status == 503, (status, body)
        assert content_type == "application/json"
        assert body["code"] == "database_unavailable"
        assert seconds < CONNECT_TIMEOUT + 5

    with psycopg2.connect(f"{cluster.url}", connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tasks_task WHERE user_id = 'user-faults'")
        stored = {row[0] for row in cursor.fetchall()}
    assert set(load.acknowledged) <= stored
    logger.info(
        "faults: %d writes sent, %d acknowledged, %d stored, %d answered 503, slowest 503 %.2fs",
        len(load.answers), len(load.acknowledged), len(stored), len(failures), max(a[3] for a in failures),
    )


@pytest.fixture
def silent_database():
    """A TCP port that accepts connections and never answers, like a PostgreSQL that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgres://postgres@127.0.0.1:{listener.getsockname()[1]}/taskapi"
    stop.set()
    thread.join(timeout=5)
    for sock in accepted:
        sock.close()
    listener.close()


def test_hanging_database_answers_503_within_the_connect_timeout(silent_database, jwks_server, make_token):
    env = {
        "DATABASE_URL": silent_database,
        "DATABASE_CONNECT_TIMEOUT": "1",
        "BETTER_AUTH_URL": jwks_server.origin,
    }
    with Gunicorn(env, workers=1, threads=2) as server:
        requests = [("GET", "/health", None, "status", "unhealthy"),
                    ("POST", "/api/tasks", {"title": "t"}, "code", "database_unavailable")]
        for method, path, body, key, expected in requests:
            started = time.monotonic()
            status, headers, answer = call(method, f"{server.url}{path}", token=make_token(), body=body, timeout=15)
            assert (status, headers["Content-Type"], answer[key]) == (503, "application/json", expected)
            assert time.monotonic() - started < 1 + 2
