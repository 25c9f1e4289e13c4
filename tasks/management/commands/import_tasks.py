"""`manage.py import_tasks`: load what export_tasks wrote, all rows or none, skipping tasks already there.

Rows get new ids: the file's ids may already belong to other tasks here, and a fresh id from
the database's own sequence never collides. `created_at` and `updated_at` are kept from the
file (now when absent): each person's list is ordered by `created_at`, so a restore or a move
between databases leaves it in the order they knew. See tasks/task_import.py for when a task
counts as already there.
"""

import argparse
import io
import os
import re
import sys
from collections import Counter
from contextlib import contextmanager, nullcontext

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, transaction

from tasks.models import Task
from tasks.progress import Progress
from tasks.quota import users_over_quota
from tasks.task_files import FORMATS, RowError, read_rows, sniff_format
from tasks.task_import import Restore, RowValidator, Staging

PROGRESS_EVERY = 1000  # rows


class Command(BaseCommand):
    help = (
        "Import tasks from a file written by export_tasks (JSON Lines or CSV, told from the content; "
        "'-' reads stdin). Every row is checked with the API's rules; any invalid row is reported with "
        "its line number and nothing is written. Tasks get new ids; their created_at and updated_at are "
        "kept. A task already there (same user, created_at and title) is skipped, so importing a file "
        "twice adds nothing the second time."
    )
    # call_command(..., stdin=...) stands in for standard input in tests.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="the file, or - for standard input")
        parser.add_argument("--format", dest="file_format", choices=FORMATS, help="default: told from the content")
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument(
            "--restore",
            action="store_true",
            help="into an empty table, with the API stopped: lock the table for the whole import and build its "
            "indexes after the rows (about twice as fast on PostgreSQL); refused if the table holds any task",
        )
        parser.add_argument(
            "--lock-timeout",
            default="10s",
            type=duration,
            help="with --restore, the longest wait for the table's lock (PostgreSQL, default 10s)",
        )

    def handle(self, *args, file, file_format, dry_run, restore, lock_timeout, **options):
        name = "stdin" if file == "-" else file
        try:
            with open_task_file(file, options.get("stdin", sys.stdin)) as (text, position, size):
                sniffed, lines = sniff_format(text)
                rows = read_rows(lines, file_format or sniffed)
                progress = Progress(self.stderr, "read", total=None)
                with transaction.atomic():
                    count, inserted = self.import_rows(
                        rows,
                        dry_run,
                        lambda n: progress.update(n, fraction(position, size)),
                        restore=restore and not dry_run and self.restore_into_empty_table(lock_timeout),
                    )
                progress.finish(count)
        except OSError as e:
            raise CommandError(f"cannot read {name}: {e.strerror or e}") from e
        except (UnicodeDecodeError, RowError) as e:
            raise CommandError(f"cannot read {name}: {e}; nothing imported") from e
        if dry_run:
            self.stdout.write(f"{count} valid task(s); nothing written (dry run)")
        else:
            skipped = f"; {count - inserted} already there, skipped" if count > inserted else ""
            self.stdout.write(f"imported {inserted} task(s){skipped}")

    def restore_into_empty_table(self, lock_timeout):
        try:
            restore = Restore(lock_timeout)
        except OperationalError as e:
            raise CommandError(
                f"--restore: the table is in use, its lock was not granted within {lock_timeout} "
                f"(stop the API first); nothing imported ({str(e).strip().splitlines()[0]})"
            ) from e
        if not restore.empty:
            raise CommandError(
                "--restore needs an empty table, and tasks are already there; import without --restore "
                "(it skips what is already there); nothing imported"
            )
        return restore

    def import_rows(self, rows, dry_run, report, restore=None):
        """Check every row and stage the valid ones, then insert those not already there.

        Returns (rows read, tasks inserted); raises, rolling everything back, if a row is invalid.
        `restore`: a Restore: its indexes are dropped, the rows loaded straight into the table, the indexes built.
        """
        tasks = self.valid_tasks(rows, report)
        if dry_run:
            count = sum(1 for _ in tasks)
        else:
            if restore:
                restore.drop_indexes()
            staging = restore.loader() if restore else Staging()
            count = staging.add(tasks)
        if self.invalid:
            raise CommandError(f"{self.invalid} invalid row(s); nothing imported", returncode=1)
        inserted = 0 if dry_run else staging.insert_new()
        if restore:
            restore.build_indexes(lambda name, seconds: self.stderr.write(f"built index {name} in {seconds:.1f} s"))
        # A dry run counts every row of the file as new; a real one checks what was inserted.
        check_quota(self.per_user if dry_run else dict.fromkeys(self.per_user, 0))
        return count, inserted

    def valid_tasks(self, rows, report):
        """(line, fields) of each row while all are valid; each invalid one is reported on stderr and counted."""
        validate, self.invalid, self.per_user = RowValidator(), 0, Counter()
        for count, (line, row) in enumerate(rows, 1):
            if count % PROGRESS_EVERY == 0:
                report(count)
            try:
                fields = validate(row)
            except RowError as e:
                self.invalid += 1
                self.stderr.write(f"line {line}: {e}")
                continue
            self.per_user[fields["user_id"]] += 1
            if not self.invalid:
                yield line, fields


def duration(value):
    """A PostgreSQL duration as --lock-timeout takes it: a whole number and an optional unit."""
    if not re.fullmatch(r"\d+(ms|s|min|h)?", value.strip()):
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration such as 500ms, 10s or 1min")
    return value.strip()


def open_task_file(path, stdin):
    """A context giving (text, position(), size): bytes read so far and in all, size None for a pipe."""
    if path != "-":
        return opened_file(path)
    binary = getattr(stdin, "buffer", None)
    text = stdin if binary is None else io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    return nullcontext((text, None, None))


def check_quota(added_by_user):
    """Refuse (rolling back) an import that leaves a user over API_MAX_TASKS_PER_USER.

    `added_by_user`: tasks of each user in the file not yet in the database (0 once inserted).
    """
    quota = settings.API_MAX_TASKS_PER_USER
    over = {} if quota is None else users_over_quota(Task.objects.all(), added_by_user, quota)
    if over:
        users = ", ".join(f"{user_id} ({total})" for user_id, total in sorted(over.items())[:10])
        raise CommandError(
            f"{len(over)} user(s) would be over API_MAX_TASKS_PER_USER={quota}: {users}; nothing imported",
            returncode=1,
        )


@contextmanager
def opened_file(path):
    # utf-8-sig: a byte-order mark (some editors write one) is not part of the first row.
    with io.TextIOWrapper(open(path, "rb"), encoding="utf-8-sig", newline="") as text:
        yield text, text.buffer.tell, os.fstat(text.buffer.fileno()).st_size


def fraction(position, size):
    return position() / size if size else None
