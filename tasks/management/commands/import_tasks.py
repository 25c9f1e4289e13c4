"""`manage.py import_tasks`: load what export_tasks wrote, all rows or none.

Rows get new ids: the file's ids may already belong to other tasks here, and a fresh id from
the database's own sequence never collides. `created_at` and `updated_at` are kept from the
file (now when absent): each person's list is ordered by `created_at`, so a restore or a move
between databases leaves it in the order they knew.
"""
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from tasks.models import Task, tag_keys
from tasks.quota import users_over_quota
from tasks.serializers import StrictCharField, TaskSerializer
from tasks.task_files import FORMATS, RowError, format_of, read_rows

BATCH_SIZE = 1000
INSERTED_FIELDS = [
    Task._meta.get_field(name)
    for name in (
        "user_id", "title", "description", "completed", "priority", "due_at", "tags", "tag_keys",
        "created_at", "updated_at",
    )
]


class ExportedTaskSerializer(TaskSerializer):
    """A row of an export file: the API's rules, plus the fields the API leaves to the server."""

    # Not trimmed: a token's `sub` is compared exactly, so " abc" is not the user "abc".
    user_id = StrictCharField(max_length=Task._meta.get_field("user_id").max_length, trim_whitespace=False)
    created_at = serializers.DateTimeField(required=False)
    updated_at = serializers.DateTimeField(required=False)

    class Meta(TaskSerializer.Meta):
        read_only_fields = ["id"]

    def validate_user_id(self, value):
        if not value.strip():
            raise ValidationError("This field may not be blank.")
        return value


class Command(BaseCommand):
    help = (
        "Import tasks from a JSON Lines or CSV file written by export_tasks. Every row is checked "
        "with the API's rules; any invalid row is reported with its line number and nothing is written. "
        "Tasks get new ids; their created_at and updated_at are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument(
            "--format", dest="file_format", choices=FORMATS, help="default: from the file name (.csv, .jsonl)"
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")

    def handle(self, *args, file, file_format, dry_run, **options):
        file_format = file_format or format_of(file)
        if file_format is None:
            raise CommandError(f"cannot tell the format of {file} from its name; pass --format json or csv")
        try:
            with open(file, encoding="utf-8", newline="") as rows_file, transaction.atomic():
                count = self.import_rows(read_rows(rows_file, file_format), dry_run)
        except OSError as e:
            raise CommandError(f"cannot read {file}: {e.strerror or e}") from e
        except (UnicodeDecodeError, RowError) as e:
            raise CommandError(f"cannot read {file}: {e}; nothing imported") from e
        self.stdout.write(f"{count} valid task(s); nothing written (dry run)" if dry_run else f"imported {count} task(s)")

    def import_rows(self, rows, dry_run):
        """Validate every row, insert the valid ones in batches; raise (rolling back) if any is invalid."""
        # One serializer validates every row: building one per row would dominate the run time.
        serializer, batch, count, invalid = ExportedTaskSerializer(), [], 0, 0
        per_user = Counter()
        for line, row in rows:
            try:
                task = task_from_row(row, serializer)
            except RowError as e:
                invalid += 1
                self.stderr.write(f"line {line}: {e}")
                continue
            count += 1
            per_user[task.user_id] += 1
            if not (invalid or dry_run):
                batch.append(task)
            if len(batch) == BATCH_SIZE:
                insert(batch)
                batch = []
        if invalid:
            raise CommandError(f"{invalid} invalid row(s); nothing imported", returncode=1)
        if batch:
            insert(batch)
        check_quota(per_user if dry_run else dict.fromkeys(per_user, 0))
        return count


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


def insert(tasks):
    """One multi-row INSERT keeping the file's timestamps, which `auto_now(_add)` would replace.

    `raw=True` is how Django's loaddata saves fixtures as given; bulk_create has no such switch,
    and restoring the timestamps with bulk_update afterwards took four fifths of the run time.
    """
    Task.objects._insert(tasks, fields=INSERTED_FIELDS, raw=True)


def task_from_row(row, serializer):
    """An unsaved Task from a file row, checked as the API checks a request; RowError if invalid."""
    if isinstance(row, RowError):
        raise row
    try:
        fields = serializer.run_validation(row)
    except ValidationError as e:
        raise RowError(describe(e.detail)) from e
    now = timezone.now()
    task = Task(**{"created_at": now, "updated_at": now, **fields})
    task.tag_keys = tag_keys(task.tags)
    return task


def describe(detail):
    """`{"title": ["This field may not be blank."]}` -> `title: This field may not be blank.`"""
    return "; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in detail.items())
