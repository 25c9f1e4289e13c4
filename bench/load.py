"""Load from `wrk` and what PostgreSQL saw of it."""

import json
import os
import subprocess
import time
from dataclasses import dataclass

import psycopg2

from .paths import LUA_DIR
from .seed import server_url


@dataclass(frozen=True)
class WrkResult:
    """What one `wrk` run reports (its Lua `done()` prints a BENCH_RESULT line)."""

    requests: int
    duration_us: int
    p50_us: int
    p99_us: int
    non_2xx: int
    socket_errors: int

    @property
    def requests_per_second(self):
        return self.requests / (self.duration_us / 1e6)

    @property
    def errors(self):
        return self.non_2xx + self.socket_errors


def run_wrk(url, script, env, *, seconds, threads, connections):
    """Runs `wrk` against 127.0.0.1 for a bounded time; it stops by itself."""
    command = [
        "wrk",
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "--script",
        str(LUA_DIR / script),
        url,
    ]
    full_env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_THREADS": str(threads), **env}
    completed = subprocess.run(command, env=full_env, capture_output=True, text=True, check=True, timeout=seconds + 60)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return WrkResult(**json.loads(line.removeprefix("BENCH_RESULT ")))
    raise RuntimeError(f"wrk printed no result: {completed.stdout}{completed.stderr}")


def median_round_trip_ms(database_url, queries=200):
    """The median time of a `SELECT 1` on one open connection: what one round trip costs there."""
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    timings = []
    try:
        with connection.cursor() as cursor:
            for _ in range(queries):
                started = time.perf_counter()
                cursor.execute("SELECT 1")
                cursor.fetchall()
                timings.append(time.perf_counter() - started)
    finally:
        connection.close()
    return 1000 * sorted(timings)[len(timings) // 2]


def committed_transactions(database_url):
    """Transactions the benchmark database has finished, once no session on it is left open.

    Sessions publish their counts lazily, and at the latest when they end; so this is read
    after the app has stopped, from the maintenance database so as not to count itself. In
    autocommit mode, as both apps run, every statement is a transaction of its own.
    """
    name = database_url.rsplit("/", 1)[1]
    connection = psycopg2.connect(server_url(database_url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            wait_for_sessions_to_end(cursor, name)
            cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (name,))
            return cursor.fetchone()[0]
    finally:
        connection.close()


def wait_for_sessions_to_end(cursor, name, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,))
        if cursor.fetchone()[0] == 0:
            return
        time.sleep(0.1)
