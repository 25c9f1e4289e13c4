"""The benchmark database: created from scratch, migrated, then filled by SQL in seconds.

Row layout, which the Lua scripts rely on to pick a task its caller owns without asking:
regular user k (0-based) owns the ids `first_id + k * tasks_per_user + j`; the delete pool's
task `pool_first_id + j` belongs to regular user `j % users`.
"""

import subprocess
import sys
from dataclasses import dataclass

import psycopg2

from .paths import PROJECT_DIR

REGULAR_USER = "bench-user-{:05d}"
BIG_USER = "bench-big"
FILLER_TASKS_PER_USER = 50

INSERT_TASKS = """
INSERT INTO tasks_task (user_id, title, description, completed, priority, due_at, tags, tag_keys,
                        created_at, updated_at)
SELECT {owner}, %(title)s || ' ' || g, 'seeded by bench/seed.py', g %% 3 = 0, 1 + g %% 3,
       CASE WHEN g %% 2 = 0 THEN %(start)s::timestamptz + g * interval '1 minute' END,
       CASE WHEN g %% 4 = 0 THEN '["work", "Home"]'::jsonb ELSE '[]'::jsonb END,
       CASE WHEN g %% 4 = 0 THEN '{{"work": true, "home": true}}'::jsonb ELSE '{{}}'::jsonb END,
       %(start)s::timestamptz - g * interval '1 second', %(start)s::timestamptz - g * interval '1 second'
FROM generate_series(0, %(count)s - 1) AS g
ORDER BY g
"""
MISPLACED_ROWS = """
SELECT count(*) FROM (SELECT id - %(first)s AS g, user_id FROM tasks_task WHERE id BETWEEN %(first)s AND %(last)s) AS s
WHERE user_id <> {owner}
"""
OWNER_BY_BLOCK = "'bench-user-' || lpad((g / %(per_user)s)::text, 5, '0')"
OWNER_BY_MODULO = "'bench-user-' || lpad((g %% %(users)s)::text, 5, '0')"
OWNER_FIXED = "%(owner)s"
OWNER_FILLER = "'bench-filler-' || lpad((g / %(per_user)s)::text, 6, '0')"
SEED_START = "2026-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class SeedPlan:
    """How many rows of each kind; `total_rows` is topped up with other people's tasks."""

    users: int
    tasks_per_user: int
    big_user_tasks: int
    total_rows: int

    @property
    def filler_rows(self):
        return max(0, self.total_rows - self.users * self.tasks_per_user - self.big_user_tasks)


@dataclass(frozen=True)
class Seeded:
    """Where the seeded rows landed."""

    first_id: int
    rows: int


def server_url(database_url):
    """The URL of the same server's maintenance database `postgres`."""
    return database_url.rsplit("/", 1)[0] + "/postgres"


def recreate_database(database_url):
    name = database_url.rsplit("/", 1)[1]
    connection = psycopg2.connect(server_url(database_url))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def migrate(env):
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=PROJECT_DIR, env=env, check=True
    )


def insert_tasks(cursor, owner_sql, title, count, **params):
    """Inserts `count` tasks in one statement; their ids are consecutive (checked)."""
    cursor.execute(
        INSERT_TASKS.format(owner=owner_sql), {"title": title, "count": count, "start": SEED_START, **params}
    )
    cursor.execute("SELECT min(id), max(id), count(*) FROM tasks_task WHERE title LIKE %s", (f"{title} %",))
    first, last, rows = cursor.fetchone()
    if rows != count or last - first + 1 != count:
        raise RuntimeError(f"seeded {title!r} rows are not consecutive: {first}..{last}, {rows} rows")
    cursor.execute(MISPLACED_ROWS.format(owner=owner_sql), {"first": first, "last": last, **params})
    if cursor.fetchone()[0]:
        raise RuntimeError(f"seeded {title!r} rows do not follow the layout the Lua scripts expect")
    return Seeded(first_id=first, rows=rows)


def seed(database_url, plan):
    """Fills the migrated database; returns the regular users' block."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        regular = insert_tasks(
            cursor, OWNER_BY_BLOCK, "regular", plan.users * plan.tasks_per_user, per_user=plan.tasks_per_user
        )
        insert_tasks(cursor, OWNER_FIXED, "big", plan.big_user_tasks, owner=BIG_USER)
        if plan.filler_rows:
            insert_tasks(cursor, OWNER_FILLER, "filler", plan.filler_rows, per_user=FILLER_TASKS_PER_USER)
    vacuum_analyze(database_url)
    connection.close()
    return regular


def seed_delete_pool(database_url, users, size):
    """Tasks for the delete scenario, `pool_first_id + j` owned by regular user `j % users`."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM tasks_task WHERE title LIKE %s", ("pool %",))
        pool = insert_tasks(cursor, OWNER_BY_MODULO, "pool", size, users=users)
    connection.close()
    return pool


def vacuum_analyze(database_url):
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tasks_task")
    connection.close()


def row_count(database_url):
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tasks_task")
        (count,) = cursor.fetchone()
    connection.close()
    return count
