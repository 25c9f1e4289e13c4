"""Loading exported tasks: each row checked with the API's rules, staged, then inserted unless already there.

A row is already there when a task of the same user has the same `created_at` (to the
microsecond) and the same title: a file imported twice adds nothing the second time, and a
file that overlaps what the database holds adds only what is new. The rule needs no new
column or index: `task_user_created_idx` (user_id, created_at) finds the candidates. It is a
check, not a constraint, so imports take turns (a transaction-level advisory lock on PostgreSQL;
SQLite lets one writer in at a time anyway): two imports of one file never both insert.

Rows are staged in a temporary table (by COPY on PostgreSQL, by batched INSERTs elsewhere),
and one INSERT ... SELECT ... WHERE NOT EXISTS moves the new ones into tasks_task in file order.
"""

import csv
import io
import itertools
import json
import re
import time
from datetime import datetime

from django.db import connection
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from .models import DESCRIPTION_MAX_LENGTH, MAX_TAGS, TAG_MAX_LENGTH, TITLE_MAX_LENGTH, Priority, Task, tag_keys
from .serializers import SURROGATES, StrictCharField, TaskSerializer
from .task_files import FIELDS, RowError

STAGED_FIELDS = (
    "user_id",
    "title",
    "description",
    "completed",
    "priority",
    "due_at",
    "tags",
    "tag_keys",
    "created_at",
    "updated_at",
)
STAGING_TABLE = "task_import"
IMPORT_LOCK = 0x7461736B  # the advisory lock imports take turns on ("task")
BATCH_SIZE = 1000
PRIORITY_BY_LABEL = {label: value for value, label in Priority.choices}
USER_ID_MAX_LENGTH = Task._meta.get_field("user_id").max_length
# How export_tasks writes a moment (utc_iso): the only form the fast path reads itself.
UTC_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z\Z")
KNOWN_KEYS = frozenset(FIELDS)


class ExportedTaskSerializer(TaskSerializer):
    """A row of an export file: the API's rules, plus the fields the API leaves to the server."""

    # Not trimmed: a token's `sub` is compared exactly, so " abc" is not the user "abc".
    user_id = StrictCharField(max_length=USER_ID_MAX_LENGTH, trim_whitespace=False)
    created_at = serializers.DateTimeField(required=False)
    updated_at = serializers.DateTimeField(required=False)
    # A CSV file spells booleans as text ("true"), which the API's JSON-only field refuses.
    completed = serializers.BooleanField(required=False)

    class Meta(TaskSerializer.Meta):
        read_only_fields = ["id"]

    def validate_user_id(self, value):
        if not value.strip():
            raise ValidationError("This field may not be blank.")
        return value


class RowValidator:
    """Turns file rows into the staged fields of a task, or raises RowError saying why not.

    The serializer costs about 230 us a row, 4 minutes for a million. A row exactly as
    export_tasks writes it (strings already trimmed, timestamps in UTC with `Z`, tags unique)
    is read by `exported_fields` in a few microseconds; any other row goes through the
    serializer. A test checks that both agree on every row the fast path accepts.
    """

    def __init__(self):
        self.serializer = ExportedTaskSerializer()

    def __call__(self, row):
        if isinstance(row, RowError):
            raise row
        fields = exported_fields(row)
        if fields is None:
            fields = self.validated_fields(row)
        fields["tag_keys"] = tag_keys(fields["tags"])
        return fields

    def validated_fields(self, row):
        try:
            fields = self.serializer.run_validation(row)
        except ValidationError as e:
            raise RowError(describe(e.detail)) from e
        now = timezone.now()
        return {
            "description": "",
            "completed": False,
            "priority": Priority.MEDIUM,
            "due_at": None,
            "tags": [],
            "created_at": now,
            "updated_at": now,
            **fields,
        }


def exported_fields(row):
    """The task fields of a row in export_tasks' own form, or None when the serializer must judge it."""
    if not isinstance(row, dict) or not KNOWN_KEYS.issuperset(row):
        return None
    now = None if "created_at" in row and "updated_at" in row else timezone.now()
    user_id, title = row.get("user_id"), row.get("title")
    description, tags, due_at = row.get("description"), row.get("tags"), row.get("due_at")
    fields = {
        "user_id": user_id if is_plain_text(user_id, USER_ID_MAX_LENGTH) and user_id.strip() else None,
        "title": title if is_plain_text(title, TITLE_MAX_LENGTH) and title.strip() == title else None,
        "description": "" if description is None else description,
        "completed": row.get("completed", False),
        "priority": PRIORITY_BY_LABEL.get(priority) if type(priority := row.get("priority", "medium")) is str else None,
        "tags": [] if tags is None else tags,
        "created_at": utc_moment(row["created_at"]) if "created_at" in row else now,
        "updated_at": utc_moment(row["updated_at"]) if "updated_at" in row else now,
    }
    if (
        None in fields.values()
        or type(fields["completed"]) is not bool
        or not is_plain_text(fields["description"], DESCRIPTION_MAX_LENGTH, empty=True)
        or not are_exported_tags(fields["tags"])
    ):
        return None
    fields["due_at"] = None if due_at is None else utc_moment(due_at)
    return None if due_at is not None and fields["due_at"] is None else fields


def is_plain_text(value, max_length, empty=False):
    return (
        type(value) is str
        and (empty or value != "")
        and len(value) <= max_length
        and "\x00" not in value
        and not SURROGATES.search(value)
    )


def are_exported_tags(tags):
    return (
        type(tags) is list
        and len(tags) <= MAX_TAGS
        and all(is_plain_text(tag, TAG_MAX_LENGTH) and tag.strip() == tag for tag in tags)
        and len({tag.lower() for tag in tags}) == len(tags)
    )


def utc_moment(value):
    """A datetime from export_tasks' `2026-12-01T17:30:00Z` form; None for anything else."""
    if type(value) is not str or not UTC_ISO.match(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def describe(detail):
    """`{"title": ["This field may not be blank."]}` -> `title: This field may not be blank.`"""
    return "; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in detail.items())


class Staging:
    """The temporary table a file's valid rows wait in, within the import's transaction."""

    def __init__(self):
        quote = connection.ops.quote_name
        self.columns = ", ".join(quote(name) for name in ("line", *STAGED_FIELDS))
        self.fields = [Task._meta.get_field(name) for name in STAGED_FIELDS]
        definitions = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in self.fields)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGING_TABLE} (line integer, {definitions})")

    def add(self, tasks):
        """Stage (line, fields) pairs; returns how many."""
        if connection.vendor == "postgresql":
            return self.copy(tasks)
        count = 0
        sql = f"INSERT INTO {STAGING_TABLE} ({self.columns}) VALUES ({', '.join(['%s'] * (len(self.fields) + 1))})"
        with connection.cursor() as cursor:
            for batch in batched(tasks, BATCH_SIZE):
                cursor.executemany(sql, [self.db_values(line, fields) for line, fields in batch])
                count += len(batch)
        return count

    def db_values(self, line, fields):
        return [line, *(field.get_db_prep_save(fields[field.name], connection) for field in self.fields)]

    def copy(self, tasks, table=STAGING_TABLE, with_line=True):
        """One COPY for the whole file, fed CSV text one batch at a time."""
        counted = Counted(tasks)
        reader = ChunkReader(csv_batches(counted, with_line))
        sql = f"COPY {table} ({self.columns}) FROM STDIN WITH (FORMAT csv, FORCE_NULL (due_at))"
        with connection.cursor() as cursor:
            try:
                cursor.cursor.copy_expert(sql, reader)
            except Exception:
                # psycopg2 reports an error raised while reading the file (an undecodable
                # byte, say) as a cancelled COPY: raise the error itself.
                if reader.error is not None:
                    raise reader.error from None
                raise
        return counted.count

    def insert_new(self):
        """Insert the staged tasks that are not already there, in file order; returns how many."""
        columns = ", ".join(connection.ops.quote_name(name) for name in STAGED_FIELDS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO tasks_task ({columns}) SELECT {columns} FROM {STAGING_TABLE} AS s "
                "WHERE NOT EXISTS (SELECT 1 FROM tasks_task AS t "
                "WHERE t.user_id = s.user_id AND t.created_at = s.created_at AND t.title = s.title) "
                "ORDER BY s.line"
            )
            inserted = cursor.rowcount
            cursor.execute(f"DROP TABLE {STAGING_TABLE}")
        return inserted


class DirectLoad(Staging):
    """A restore's rows COPied straight into tasks_task (PostgreSQL): the table is empty and locked, so
    nothing can be there already, and COPY gives ids in file order."""

    def __init__(self):
        self.columns = ", ".join(connection.ops.quote_name(name) for name in STAGED_FIELDS)

    def add(self, tasks):
        self.count = self.copy(tasks, table=connection.ops.quote_name(Task._meta.db_table), with_line=False)
        return self.count

    def insert_new(self):
        return self.count


class Restore:
    """`import_tasks --restore`: a load into an empty table that builds its indexes after the rows.

    Maintaining seven indexes row by row (two of them trigram GIN indexes) is most of a large
    import's time; building them once the rows are in takes about half as long. Dropping an
    index needs the table's ACCESS EXCLUSIVE lock, which also keeps every reader out, so this is
    for a restore or a move into a new database with the API stopped: the lock is taken first
    (waiting at most `lock_timeout`), the table must then be empty, and it is held until the
    import commits. The rows go straight into the table with one COPY (nothing can be there
    already), then the indexes are built. It is all one transaction: a failed import rolls back
    to the empty table with every index in place. Elsewhere than on PostgreSQL only the emptiness
    is checked, and the import runs as usual.
    """

    # GIN builds are several times faster with room to sort in (PostgreSQL's default is 64MB);
    # it is the most this one backend uses, for this transaction only.
    MAINTENANCE_WORK_MEM = "256MB"

    def __init__(self, lock_timeout):
        self.table = connection.ops.quote_name(Task._meta.db_table)
        self.definitions = {}
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
                cursor.execute(f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE")
                cursor.execute("SELECT set_config('lock_timeout', '0', true)")
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {self.table})")
            self.empty = not cursor.fetchone()[0]

    def loader(self):
        return DirectLoad() if connection.vendor == "postgresql" else Staging()

    def drop_indexes(self):
        """Drop the table's indexes that back no constraint (the primary key stays), remembering them."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
                "WHERE i.indrelid = %s::regclass "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid) ORDER BY 1",
                [Task._meta.db_table],
            )
            self.definitions = dict(cursor.fetchall())
            for name in self.definitions:
                cursor.execute(f"DROP INDEX {name}")

    def build_indexes(self, report):
        """Build the dropped indexes again; report(name, seconds) after each."""
        with connection.cursor() as cursor:
            if self.definitions:
                cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [self.MAINTENANCE_WORK_MEM])
            for name, definition in self.definitions.items():
                started = time.monotonic()
                cursor.execute(definition)
                report(name, time.monotonic() - started)


def csv_batches(tasks, with_line=True):
    """COPY's CSV text of (line, fields) pairs, BATCH_SIZE rows per string (without the line if not `with_line`).

    Every cell is quoted, so an empty description stays an empty string (COPY reads an unquoted
    empty cell as NULL); FORCE_NULL turns the quoted empty cell of a missing due date into NULL.
    """
    for batch in batched(tasks, BATCH_SIZE):
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        start = 0 if with_line else 1
        writer.writerows(copy_row(line, fields)[start:] for line, fields in batch)
        yield out.getvalue().encode()


def copy_row(line, fields):
    tags, due_at = fields["tags"], fields["due_at"]
    return (
        line,
        fields["user_id"],
        fields["title"],
        fields["description"],
        "t" if fields["completed"] else "f",
        fields["priority"],
        due_at and due_at.isoformat(),
        json.dumps(tags) if tags else "[]",
        json.dumps(fields["tag_keys"]) if tags else "{}",
        fields["created_at"].isoformat(),
        fields["updated_at"].isoformat(),
    )


class ChunkReader:
    """A file with read(size) over an iterator of byte strings: what psycopg2's copy_expert reads."""

    def __init__(self, chunks):
        self.chunks, self.chunk, self.offset, self.error = chunks, b"", 0, None

    def read(self, size=-1):
        if self.offset >= len(self.chunk):
            try:
                self.chunk, self.offset = next(self.chunks, b""), 0
            except Exception as e:
                self.error = e
                raise
        end = len(self.chunk) if size < 0 else self.offset + size
        data, self.offset = self.chunk[self.offset : end], end
        return data


class Counted:
    """An iterator that counts what passes through it."""

    def __init__(self, iterable):
        self.iterator, self.count = iter(iterable), 0

    def __iter__(self):
        for item in self.iterator:
            self.count += 1
            yield item


def batched(iterable, size):
    iterator = iter(iterable)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
