"""Migrations stay safe on a large, busy table: linted, short locks, resumable, run by migrate_safely."""

import re
import subprocess
import sys
import threading
import time

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext
from django_migration_linter import MigrationLinter

from tasks.models import Task

from .live import PROJECT_DIR, database_url, require_postgresql

# Migrations django-migration-linter would refuse, each with the reason it is safe in reality.
LINTER_IGNORES = {}
MIGRATIONS = sorted(path.stem for path in (PROJECT_DIR / "tasks" / "migrations").glob("0*.py"))
LAST_MIGRATION = MIGRATIONS[-1]


def sql_of(migration):
    return call_command("sqlmigrate", "tasks", migration)


@pytest.mark.django_db(transaction=True)
def test_the_migration_linter_finds_nothing_unsafe():
    require_postgresql()
    linter = MigrationLinter(
        include_apps=["tasks"],
        ignore_name=list(LINTER_IGNORES),
        no_cache=True,
        all_warnings_as_errors=True,
        no_output=True,
    )
    linter.lint_all_migrations()
    assert linter.nb_erroneous == 0
    assert linter.nb_valid == len(MIGRATIONS) - len(LINTER_IGNORES)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("migration", MIGRATIONS)
def test_no_migration_checks_existing_rows_under_an_exclusive_lock(migration):
    # The linter has no rule for this: a CHECK added to an existing table must be NOT VALID
    # and validated in a later transaction.
    require_postgresql()
    for statement in sql_of(migration).splitlines():
        if statement.startswith("ALTER TABLE") and "CHECK" in statement:
            assert statement.endswith("NOT VALID;"), statement


@pytest.mark.django_db(transaction=True)
def test_the_check_constraints_are_named_and_validated_as_before():
    """A database migrated by the old 0002 (CHECK on the column) has these very constraints."""
    require_postgresql()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, convalidated, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'tasks_task'::regclass AND contype = 'c' AND conname LIKE %s ORDER BY conname",
            ["tasks_task_%_check"],
        )
        assert cursor.fetchall() == [
            ("tasks_task_priority_check", True, "CHECK ((priority >= 0))"),
            ("tasks_task_version_check", True, "CHECK ((version >= 0))"),
        ]


def first_release_task_model():
    """Task as the first release's code knew it: the model of migration 0001."""
    state = MigrationLoader(None, ignore_no_migrations=True).project_state(("tasks", "0001_initial"))
    return state.apps.get_model("tasks", "Task")


def columns_added_after_the_first_release():
    first = {field.column for field in first_release_task_model()._meta.concrete_fields}
    return [field for field in Task._meta.concrete_fields if field.column not in first]


@pytest.mark.django_db
def test_every_column_added_after_the_first_release_is_nullable_or_has_a_database_default():
    """During a rolling deploy the previous release, which does not know a new column, still inserts.

    AddField's `default` fills the existing rows and is then dropped from the column; only
    `db_default` (or null=True) stays in the schema for INSERTs that do not name the column.
    """
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(cursor, Task._meta.db_table)
    added = {field.column for field in columns_added_after_the_first_release()}
    assert added >= {"priority", "due_at", "tags", "tag_keys", "version"}
    assert [column.name for column in described if column.name in added and not column.null_ok] != []
    assert [
        column.name for column in described if column.name in added and not column.null_ok and column.default is None
    ] == []


@pytest.mark.django_db
def test_the_first_releases_insert_gets_the_values_this_release_would_write():
    first_release_task = first_release_task_model()
    with CaptureQueriesContext(connection) as queries:
        old = first_release_task.objects.create(user_id="user-old", title="written by the first release")
    new = Task.objects.create(user_id="user-new", title="written by this release")

    (insert,) = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT")]
    added = columns_added_after_the_first_release()
    assert not [field.column for field in added if connection.ops.quote_name(field.column) in insert]
    old, new = Task.objects.get(pk=old.pk), Task.objects.get(pk=new.pk)
    assert {field.attname: getattr(old, field.attname) for field in added} == {
        field.attname: getattr(new, field.attname) for field in added
    }
    assert (old.tags, old.tag_keys, old.priority, old.version, old.due_at) == ([], {}, 2, 1, None)


@pytest.fixture
def scratch_database():
    """A database of its own on the tests' server, for migrating back and forth; dropped after."""
    require_postgresql()
    name = f"{connection.settings_dict['NAME']}_scratch"
    server = psycopg2.connect(database_url().rsplit("/", 1)[0] + "/postgres")
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = database_url().rsplit("/", 1)[0] + f"/{name}"
    yield url
    with server.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    server.close()


def manage(url, *args):
    """manage.py as the release step runs it: a process of its own, on the given database."""
    env = {
        "DATABASE_URL": url,
        "BETTER_AUTH_URL": "http://127.0.0.1:3000",
        "PATH": "/usr/bin:/bin",
        "DJANGO_SECRET_KEY": "tests-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300
    )


def sql(url, statement, params=()):
    with psycopg2.connect(url) as db, db.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def migrated_to(url, migration, tasks=0):
    """The tasks app migrated to `migration`, with that many tasks (as that code wrote them)."""
    assert manage(url, "migrate", "tasks", migration).returncode == 0
    columns, values = "user_id, title, description, completed, created_at, updated_at", "'', false, now(), now()"
    if migration != "0001":
        columns, values = columns + ", tags, tag_keys", values + ", '[]', '{}'"
    if tasks:
        sql(
            url,
            f"INSERT INTO tasks_task ({columns}) SELECT 'user-' || (g %% 3), 'task ' || g, {values} "
            "FROM generate_series(1, %s) g",
            [tasks],
        )
    return url


def applied(url):
    return [name for (name,) in sql(url, "SELECT name FROM django_migrations WHERE app = 'tasks' ORDER BY id")]


def indexes(url):
    return dict(
        sql(
            url,
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'tasks_task'::regclass",
        )
    )


def test_an_interrupted_concurrent_index_build_is_repaired_by_the_next_run(scratch_database):
    url = migrated_to(scratch_database, "0002", tasks=30)
    # What an interrupted 0003 leaves behind: one index complete, the next INVALID. A unique
    # index over repeated values fails after its catalog entry is committed, as a cancelled
    # CREATE INDEX CONCURRENTLY does.
    sql(url, 'CREATE INDEX "task_created_idx" ON tasks_task (created_at DESC, id DESC)')
    with pytest.raises(psycopg2.errors.UniqueViolation):
        connection_ = psycopg2.connect(url)
        connection_.autocommit = True
        connection_.cursor().execute('CREATE UNIQUE INDEX CONCURRENTLY "task_user_updated_idx" ON tasks_task (user_id)')
    assert indexes(url)["task_user_updated_idx"] is False
    assert manage(url, "migrate", "tasks", "0003", "--plan").returncode == 0

    result = manage(url, "migrate_safely")
    assert result.returncode == 0, result.stderr
    assert all(indexes(url).values()), indexes(url)
    assert sql(url, "SELECT pg_get_indexdef('task_user_updated_idx'::regclass)")[0][0].endswith(
        "USING btree (user_id, updated_at, id)"
    )
    assert applied(url)[-1] == LAST_MIGRATION
    assert manage(url, "makemigrations", "--check", "--dry-run").returncode == 0


def test_a_migration_cut_short_by_statement_timeout_is_resumed_by_the_next_run(scratch_database):
    url = migrated_to(scratch_database, "0002", tasks=20_000)
    cut_short = manage(url, "migrate_safely", "--statement-timeout", "1ms")
    assert cut_short.returncode == 1
    # A concurrent index build may run in parallel workers; when the timeout cancels them, PostgreSQL
    # can report the workers' cancellation ("user request") rather than the leader's timeout.
    assert re.search(
        r"canceling statement due to (statement timeout|user request) \(statement_timeout 1ms\); "
        r"run again with a longer --statement-timeout",
        cut_short.stderr,
    ), cut_short.stderr
    assert "Traceback" not in cut_short.stderr
    assert applied(url)[-1] == "0002_task_planning_fields"

    resumed = manage(url, "migrate_safely")
    assert resumed.returncode == 0, resumed.stderr
    assert applied(url)[-1] == LAST_MIGRATION
    assert len(indexes(url)) == 8 and all(indexes(url).values()), indexes(url)


def hold_a_read_lock(url):
    """A transaction that has read tasks_task and stays open, as a slow report would."""
    reader = psycopg2.connect(url)
    reader.cursor().execute("SELECT count(*) FROM tasks_task")
    return reader


def test_the_release_step_gives_up_on_a_lock_instead_of_stalling_traffic(scratch_database):
    url = migrated_to(scratch_database, "0001", tasks=10)
    reader = hold_a_read_lock(url)
    try:
        result = manage(url, "migrate_safely", "--lock-timeout", "200ms", "--attempts", "2", "--retry-delay", "0.1")
    finally:
        reader.close()
    assert result.returncode == 1
    assert "attempt 1 of 2: canceling statement due to lock timeout; retrying in 0.1 s" in result.stderr
    assert "CommandError: a lock was not granted within 200ms in 2 attempts" in result.stderr
    assert applied(url) == ["0001_initial"]
    assert "priority" not in [
        name
        for (name,) in sql(url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'tasks_task'")
    ]


def release_after_a_wait(url, reader):
    """Close `reader` once a statement has been kept waiting for its lock and given up (0.5 s later)."""
    deadline = time.monotonic() + 120
    while not sql(url, "SELECT 1 FROM pg_locks WHERE relation = 'tasks_task'::regclass AND NOT granted"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    reader.close()


def test_the_release_step_retries_until_the_lock_is_free(scratch_database):
    url = migrated_to(scratch_database, "0001", tasks=10)
    reader = hold_a_read_lock(url)
    threading.Thread(target=release_after_a_wait, args=(url, reader), daemon=True).start()
    result = manage(url, "migrate_safely", "--lock-timeout", "200ms", "--attempts", "10", "--retry-delay", "0.2")
    assert result.returncode == 0, result.stderr
    assert "attempt 1 of 10: canceling statement due to lock timeout" in result.stderr
    assert applied(url)[-1] == LAST_MIGRATION


def test_migrate_safely_on_an_up_to_date_database_changes_nothing(scratch_database):
    assert manage(scratch_database, "migrate").returncode == 0
    result = manage(scratch_database, "migrate_safely")
    assert result.returncode == 0, result.stderr
    assert "No migrations to apply." in result.stdout


def test_the_procfile_releases_with_migrate_safely():
    lines = dict(line.split(": ", 1) for line in (PROJECT_DIR / "Procfile").read_text().splitlines())
    assert lines["release"] == "python manage.py migrate_safely"
