"""`manage.py export_tasks`: every task (or one user's) as JSON Lines or CSV, streamed."""

import os
import signal
import sys

from django.core.management.base import BaseCommand, CommandError

from tasks.models import Task
from tasks.progress import Progress
from tasks.task_files import FIELDS, FORMATS, format_of, record_writer, task_record

# Rows fetched per query; only one chunk is ever in memory.
CHUNK_SIZE = 2000


class Command(BaseCommand):
    help = (
        "Write tasks as JSON Lines (one object per line) or CSV with a header, ordered by id, "
        "timestamps in ISO 8601 UTC. Reads 2,000 rows per query, so memory stays flat at any table size."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="ID", help="only this user's tasks")
        parser.add_argument(
            "--format",
            dest="file_format",
            choices=FORMATS,
            help="default: from the --output name (.csv, .jsonl), else json",
        )
        parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")

    def handle(self, *args, user, file_format, output, **options):
        file_format = file_format or (output and format_of(output)) or "json"
        tasks = Task.objects.all()
        if user is not None:
            tasks = tasks.owned_by(user)
        if output is None:
            count = self.export_to_stdout(tasks, file_format)
        else:
            count = self.export_to_file(tasks, output, file_format)
        self.stderr.write(f"exported {count} task(s) as {file_format}" + (f" to {output}" if output else ""))

    def export_to_stdout(self, tasks, file_format):
        try:
            count = self.export(tasks, self.stdout, file_format)
            self.stdout.flush()
        except BrokenPipeError:
            # The reader (`| head`) has all it wanted: stop quietly, with the status a process
            # killed by SIGPIPE has (as `yes | head` does), and keep Python's exit-time flush of
            # stdout from raising again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(128 + signal.SIGPIPE) from None
        return count

    def export_to_file(self, tasks, path, file_format):
        try:
            # The csv module writes its own line endings.
            with open(path, "w", encoding="utf-8", newline="" if file_format == "csv" else None) as out:
                return self.export(tasks, out, file_format)
        except OSError as e:
            raise CommandError(f"cannot write {path}: {e.strerror or e}") from e

    def export(self, tasks, out, file_format):
        """Write `tasks` to `out`, one chunk of rows in memory at a time; returns the count."""
        write = record_writer(out, file_format)
        progress = Progress(self.stderr, "exported", total=tasks.count())
        count = 0
        for count, values in enumerate(rows_in_chunks(tasks), 1):
            write(task_record(values))
            if count % CHUNK_SIZE == 0:
                progress.update(count)
        progress.finish(count)
        return count


def rows_in_chunks(tasks):
    """`values_list(*FIELDS)` rows of `tasks` in id order, fetched CHUNK_SIZE at a time by keyset.

    Not `.iterator()`: with DATABASE_POOLED (PgBouncer in transaction mode) Django turns
    server-side cursors off, and psycopg2 then holds the whole result in memory. Each chunk is
    its own query, so the export is not one snapshot: rows written meanwhile may or may not be in.
    """
    last_id = 0
    while True:
        rows = list(tasks.filter(id__gt=last_id).order_by("id").values_list(*FIELDS)[:CHUNK_SIZE])
        yield from rows
        if len(rows) < CHUNK_SIZE:
            return
        last_id = rows[-1][0]
