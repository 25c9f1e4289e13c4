"""A person's task, owned by the Better Auth user id found in their token's `sub`."""

from datetime import timedelta

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, F, Q
from django.db.models.functions import Length, Upper
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from .quota import insert_within_quota
from .tag_counts import top_tags
from .task_rows import FLIPPED, read_owned, write_owned

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000
MAX_TAGS = 20
TAG_MAX_LENGTH = 32
# The stats list the most used tags only: its size must not grow with a person's data.
STATS_MAX_TAGS = 100


class Priority(models.IntegerChoices):
    """Stored as numbers so that ordering by priority sorts low < medium < high."""

    LOW = 1, "low"
    MEDIUM = 2, "medium"
    HIGH = 3, "high"


class TaskQuerySet(models.QuerySet):
    """Tasks, and the writes that change them in one statement each.

    Every write bumps the version (the ETag) and stamps `updated_at` with the application's
    clock, the one `auto_now` uses, so a task's timestamps never mix two clocks.
    """

    def owned_by(self, user_id):
        return self.filter(user_id=user_id)

    def at_versions(self, versions):
        """The rows still at one of `versions` (If-Match); all of them when `versions` is None.

        A write through this filter is a compare-and-bump: of two writers holding the same
        version exactly one matches the row.
        """
        return self if versions is None else self.filter(version__in=versions)

    def write(self, **values):
        """UPDATE these fields, bump the version and stamp `updated_at`; returns the row count."""
        return self.update(**as_written(values), version=F("version") + 1)

    def delete_in_one_statement(self):
        """DELETE the rows in one statement, with no transaction around it; returns the row count.

        `QuerySet.delete()` runs Django's collector, which wraps even a delete it has nothing to
        collect for in BEGIN/COMMIT. A task has no relations and no delete signals (a test holds
        that true, tasks/tests/test_models.py), so the collector's fast path is this one
        statement; `_raw_delete` is that path's own call, made here and nowhere else.
        """
        return self._raw_delete(self.db)

    def stats(self, now):
        """Counts for the stats endpoint in one aggregate query, plus one for the top tags.

        At most STATS_MAX_TAGS tags are listed; `tags_total` says how many distinct ones there are.
        """
        tags, tags_total = top_tags(self, STATS_MAX_TAGS)
        counts = self.aggregate(
            n_total=Count("id"),
            n_completed=Count("id", filter=Q(completed=True)),
            n_overdue=Count("id", filter=Q(completed=False, due_at__lt=now)),
            **{f"n_{label}": Count("id", filter=Q(priority=value)) for value, label in Priority.choices},
        )
        return {
            "total": counts["n_total"],
            "completed": counts["n_completed"],
            "pending": counts["n_total"] - counts["n_completed"],
            "overdue": counts["n_overdue"],
            "by_priority": {label: counts[f"n_{label}"] for label in Priority.labels},
            "tags": tags,
            "tags_total": tags_total,
        }

    def create_within_quota(self, quota, **fields):
        """Create a task unless its owner has `quota` tasks already (None: no limit); None if refused.

        One statement either way: the quota is checked inside the INSERT (see tasks/quota.py).
        """
        if quota is None:
            return self.create(**fields)
        task = self.model(**fields)
        task.tag_keys = tag_keys(task.tags)
        task.pk = insert_within_quota(task, quota, self.db)
        if task.pk is None:
            return None
        task._state.adding, task._state.db = False, self.db
        return task

    def set_completed(self, completed):
        """Set `completed` on the rows not already in that state; returns how many changed.

        Rows already in that state keep their `updated_at` and version: nothing about them changed.
        """
        return self.exclude(completed=completed).write(completed=completed)


class TaskManager(models.Manager.from_queryset(TaskQuerySet)):
    """`Task.objects`: TaskQuerySet's methods, and a task read or written by its owner and id in one statement.

    These live on the manager, not the queryset: they name the row themselves (tasks/task_rows.py),
    so a filter before them would be silently ignored.
    """

    def owned_task(self, user_id, pk):
        """The owner's task `pk` (without `tag_keys`), or None: one SELECT, spelled in SQL (tasks/task_rows.py)."""
        return read_owned(self, user_id, pk)

    def write_owned(self, user_id, pk, values, versions=None):
        """Write `values` to the owner's task `pk` and bump its version in one UPDATE ... RETURNING.

        Returns the task as written, or None when no row matched (no such task of theirs, or,
        with `versions` from If-Match, not at one of them). `updated_at` is stamped and
        `tag_keys` kept in step with `tags`.
        """
        return write_owned(self, user_id, pk, as_written(values), versions)

    def toggle_owned(self, user_id, pk, versions=None):
        """Flip the owner's task's `completed` in the database (`SET completed = NOT completed`), as write_owned.

        Done in the database so that concurrent toggles never read-modify-write over each other.
        """
        return self.write_owned(user_id, pk, {"completed": FLIPPED}, versions)


class VersionMismatch(Exception):
    """A write conditional on If-Match's versions found the task at another version."""


class Task(models.Model):
    user_id = models.CharField(max_length=255)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    completed = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(choices=Priority, default=Priority.MEDIUM, db_default=Priority.MEDIUM)
    due_at = models.DateTimeField(null=True, blank=True)
    # As the owner wrote them, in their order; `tag_keys` holds their lower-case forms as
    # JSON object keys, which both PostgreSQL (GIN, `?|`/`?&`) and SQLite can match.
    tags = models.JSONField(default=list, db_default=[], blank=True)
    tag_keys = models.JSONField(default=dict, db_default={}, blank=True, editable=False)
    # Bumped by every write; the ETag. Writes guarded by If-Match compare and bump it in one UPDATE.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Serves each person's newest-first list and its keyset pages.
            models.Index(fields=["user_id", "-created_at", "-id"], name="task_user_created_idx"),
            models.Index(fields=["user_id", "updated_at", "id"], name="task_user_updated_idx"),
            models.Index(fields=["user_id", "due_at", "id"], name="task_user_due_idx"),
            GinIndex(fields=["tag_keys"], name="task_tag_keys_gin"),
            # `icontains` compiles to UPPER(column) LIKE UPPER(...): trigram indexes on the same
            # expressions serve `search=` on PostgreSQL.
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="task_title_trgm"),
            GinIndex(OpClass(Upper("description"), name="gin_trgm_ops"), name="task_description_trgm"),
            # Serves the admin's newest-first list of everyone's tasks, its date filters and
            # the date hierarchy's first/last dates, without sorting the whole table.
            models.Index(fields=["-created_at", "-id"], name="task_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_empty"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("description"), DESCRIPTION_MAX_LENGTH),
                name="task_description_max_length",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        """A plain save (creation, the admin) keeps `tag_keys` in step and, on change, the version."""
        self.tag_keys = tag_keys(self.tags)
        if not self._state.adding:
            self.version += 1
        super().save(*args, **kwargs)

    def clean(self):
        """The API's rules for tags, for writes that do not come through the API (the admin)."""
        tags = self.tags
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ValidationError({"tags": "A list of strings."})
        self.tags = unique_tags(tag.strip() for tag in tags)
        if len(self.tags) > MAX_TAGS or not all(1 <= len(tag) <= TAG_MAX_LENGTH for tag in self.tags):
            raise ValidationError({"tags": f"At most {MAX_TAGS} tags of 1 to {TAG_MAX_LENGTH} characters."})

    def write(self, values, versions=None):
        """Write just `values` to this task in one UPDATE that bumps the version; the task as written, or None.

        With `versions` (from If-Match) the row is written only while its version is one of
        them. Without it the last writer wins, and fields it did not send keep what others
        wrote. The answer is the row the UPDATE left (RETURNING): its version is the one this
        write made, whatever raced it.
        """
        return Task.objects.write_owned(self.user_id, self.pk, values, versions)


def unique_tags(tags):
    """Tags in their given order, each kept once however its letters are cased."""
    seen, unique = set(), []
    for tag in tags:
        if tag.lower() not in seen:
            seen.add(tag.lower())
            unique.append(tag)
    return unique


def as_written(values):
    """What every write stores besides `values`: `updated_at` (unless given), and `tag_keys` in step with `tags`."""
    written = {"updated_at": timezone.now(), **values}
    if "tags" in written:
        written["tag_keys"] = tag_keys(written["tags"])
    return written


def tag_keys(tags):
    return {tag.lower(): True for tag in tags}


class IdempotencyKeyQuerySet(models.QuerySet):
    def expired(self):
        """The records past their 24 hours."""
        return self.filter(created_at__lt=timezone.now() - IdempotencyKey.LIFETIME)


class IdempotencyKey(models.Model):
    """The answer to one `POST /api/tasks` with an `Idempotency-Key`, replayed to retries for 24 hours."""

    LIFETIME = timedelta(hours=24)

    user_id = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    location = models.CharField(max_length=2048, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = IdempotencyKeyQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "key"], name="idempotency_user_key_unique")]

    def __str__(self):
        return f"{self.user_id}: {self.key}"
