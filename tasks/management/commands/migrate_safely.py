"""`manage.py migrate_safely`: the release step, `migrate` that gives up on a lock instead of queueing.

An ALTER TABLE waits for its ACCESS EXCLUSIVE lock behind any running query on the table, and
every query that arrives meanwhile waits behind the ALTER: without `lock_timeout` one slow
report stalls all traffic for as long as it runs. With it, the ALTER gives up after a few
seconds, its transaction rolls back, and the command tries again a little later.
"""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout
QUERY_CANCELED = "57014"  # ... of a statement_timeout (and of a cancel request)


class Command(BaseCommand):
    help = (
        "Apply migrations as the release step does: on PostgreSQL with lock_timeout and "
        "statement_timeout set for this session, retrying the whole migrate when a lock is not "
        "granted in time. Already-applied migrations are skipped, so a retry resumes."
    )

    def add_arguments(self, parser):
        parser.add_argument("app_label", nargs="?", help="as for migrate")
        parser.add_argument("migration_name", nargs="?", help="as for migrate")
        parser.add_argument("--lock-timeout", default="5s", help="longest wait for a lock per statement (default 5s)")
        parser.add_argument(
            "--statement-timeout",
            default="15min",
            help="longest run of one statement (default 15min; an index build on a large table is one statement)",
        )
        parser.add_argument("--attempts", type=int, default=5, help="tries before giving up (default 5)")
        parser.add_argument(
            "--retry-delay", type=float, default=5.0, help="seconds before the 2nd try, doubled after each (default 5)"
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(
        self,
        *args,
        app_label,
        migration_name,
        lock_timeout,
        statement_timeout,
        attempts,
        retry_delay,
        database,
        **options,
    ):
        target = [name for name in (app_label, migration_name) if name]
        connection = connections[database]
        for attempt in range(1, attempts + 1):
            try:
                set_timeouts(connection, lock_timeout, statement_timeout)
                call_command(
                    "migrate", *target, database=database, interactive=False, stdout=self.stdout, stderr=self.stderr
                )
                return
            except OperationalError as e:
                if sqlstate(e) == QUERY_CANCELED:
                    raise CommandError(
                        f"{first_line(e)} (statement_timeout {statement_timeout}); run again with a longer "
                        "--statement-timeout: an interrupted index build is repaired on the next run"
                    ) from e
                if sqlstate(e) != LOCK_NOT_AVAILABLE:
                    raise
                if attempt == attempts:
                    raise CommandError(
                        f"a lock was not granted within {lock_timeout} in {attempts} attempts: {e}"
                    ) from e
                self.stderr.write(f"attempt {attempt} of {attempts}: {first_line(e)}; retrying in {retry_delay:g} s")
                time.sleep(retry_delay)
                retry_delay *= 2


def set_timeouts(connection, lock_timeout, statement_timeout):
    """Session settings, kept across the migrations' own transactions (SET, not SET LOCAL)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
            [lock_timeout, statement_timeout],
        )


def first_line(error):
    """PostgreSQL's message without its CONTEXT and DETAIL lines."""
    return str(error).strip().splitlines()[0]


def sqlstate(error):
    return getattr(error.__cause__, "pgcode", None)
