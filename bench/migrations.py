"""Time each migration of `tasks` and the release step on a table of N rows, with the locks they take.

    python -m bench.migrations [--rows 1000000] [--database-url postgres://postgres@127.0.0.1:5432/taskapi_migration_timing]

Drops and recreates the database, migrates it to 0001, fills tasks_task by SQL, then applies each
later migration with `migrate_safely` while a probe reads and updates one row every 20 ms on its
own connection: the slowest probe is how long traffic was stalled. A sampler records the
strongest lock the migration held on tasks_task.
"""

import argparse
import os
import subprocess
import sys
import threading
import time

import psycopg2

from .paths import PROJECT_DIR
from .seed import recreate_database

SEED_0001 = """
INSERT INTO tasks_task (user_id, title, description, completed, created_at, updated_at)
SELECT 'user-' || (g %% 20000), 'task ' || g, repeat('word ', g %% 40), g %% 3 = 0,
       now() - g * interval '1 second', now() - g * interval '1 second'
FROM generate_series(1, %s) AS g
"""
LOCK_STRENGTH = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
]
MIGRATIONS = [
    "0002_task_planning_fields",
    "0003_task_planning_indexes",
    "0004_idempotency_key",
    "0005_task_tags_db_default",
]


class Probe(threading.Thread):
    """Reads and updates one row every 20 ms; keeps the slowest round trip."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True
        self.stop, self.slowest = threading.Event(), 0.0

    def run(self):
        with self.connection.cursor() as cursor:
            while not self.stop.is_set():
                started = time.perf_counter()
                cursor.execute("SELECT title FROM tasks_task WHERE id = 1")
                cursor.execute("UPDATE tasks_task SET completed = completed WHERE id = 1")
                self.slowest = max(self.slowest, time.perf_counter() - started)
                time.sleep(0.02)


class LockSampler(threading.Thread):
    """Samples pg_locks every 10 ms for the strongest lock another session holds on tasks_task."""

    def __init__(self, url, probe_pid):
        super().__init__(daemon=True)
        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True
        self.probe_pid, self.stop, self.held = probe_pid, threading.Event(), {}

    def run(self):
        with self.connection.cursor() as cursor:
            while not self.stop.is_set():
                cursor.execute(
                    "SELECT mode FROM pg_locks WHERE relation = 'tasks_task'::regclass AND granted "
                    "AND pid NOT IN (pg_backend_pid(), %s)",
                    [self.probe_pid],
                )
                for (mode,) in cursor.fetchall():
                    self.held[mode] = self.held.get(mode, 0) + 1
                time.sleep(0.01)

    def strongest(self):
        modes = sorted(self.held, key=LOCK_STRENGTH.index)
        return f"{modes[-1]} (~{self.held[modes[-1]] * 10} ms sampled)" if modes else "none seen"


def manage(url, *args):
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BETTER_AUTH_URL": "http://127.0.0.1:3000",
        "DJANGO_SECRET_KEY": "bench-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    }
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def timed_step(url, *args):
    probe = Probe(url)
    sampler = LockSampler(url, probe.connection.get_backend_pid())
    probe.start(), sampler.start()
    try:
        seconds = manage(url, "migrate_safely", *args)
    finally:
        probe.stop.set(), sampler.stop.set()
        probe.join(), sampler.join()
    return seconds, probe.slowest, sampler.strongest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/taskapi_migration_timing")
    options = parser.parse_args()
    url = options.database_url
    recreate_database(url)
    manage(url, "migrate")  # the other apps too, so that the steps below are this app's alone
    manage(url, "migrate", "tasks", "0001")
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(SEED_0001, [options.rows])
        print(f"seeded {options.rows} rows in {time.perf_counter() - started:.1f} s")
    connection = psycopg2.connect(url)
    connection.autocommit = True
    connection.cursor().execute("VACUUM ANALYZE tasks_task")
    connection.close()
    print("| step | time | slowest probe (read + update of one row) | strongest lock held on tasks_task |")
    print("|---|---|---|---|")
    for migration in MIGRATIONS:
        seconds, slowest, lock = timed_step(url, "tasks", migration)
        print(f"| migrate tasks {migration} | {seconds:.1f} s | {slowest * 1000:.0f} ms | {lock} |")
    seconds, slowest, lock = timed_step(url)
    print(f"| migrate_safely, nothing to apply | {seconds:.1f} s | {slowest * 1000:.0f} ms | {lock} |")


if __name__ == "__main__":
    main()
