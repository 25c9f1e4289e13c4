"""The task's JSON shape and the rules a client's input must meet."""
import re
from datetime import datetime, time, timezone

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from .exceptions import TaskQuotaExceeded
from .models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_TAGS,
    STATS_MAX_TAGS,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Priority,
    Task,
    VersionMismatch,
    unique_tags,
)
from .timestamps import utc_iso

SURROGATES = re.compile("[\ud800-\udfff]")


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings (DRF's also turns numbers into text).

    Lone UTF-16 surrogates, which JSON can spell but UTF-8 cannot store, are refused too;
    NUL characters already are, by DRF's CharField.
    """

    default_error_messages = {
        "invalid": "Not a valid string.",
        "surrogates": "Unpaired surrogate characters are not allowed.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if SURROGATES.search(data):
            self.fail("surrogates")
        return super().to_internal_value(data)


def end_of_day(day):
    """A date-only due date means the last second of that day in UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)


class DueAtField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset, or a date alone (YYYY-MM-DD: the end of that day, UTC)."""

    default_error_messages = {
        "naive": "Include a UTC offset (e.g. 2026-12-01T17:00:00Z), or send a date alone (2026-12-01).",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                day, moment = parse_date(value.strip()), parse_datetime(value.strip())
            except ValueError:
                self.fail("invalid", format="YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss]±hh:mm")
            if day is not None:
                return end_of_day(day)
            if moment is not None and moment.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


class PriorityField(serializers.ChoiceField):
    """Priority by name (low, medium, high); stored as 1-3 so that it sorts."""

    def __init__(self, **kwargs):
        super().__init__(choices=Priority.labels, **kwargs)

    def to_internal_value(self, data):
        return Priority[super().to_internal_value(data).upper()].value

    def to_representation(self, value):
        return Priority(value).label


class TagListField(serializers.ListField):
    """Up to 20 tags of 1-32 characters, trimmed; duplicates (ignoring case) dropped, order kept."""

    child = StrictCharField(max_length=TAG_MAX_LENGTH)

    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_TAGS, allow_empty=True, **kwargs)

    def to_internal_value(self, data):
        return unique_tags(super().to_internal_value(data))


class TaskSerializer(serializers.ModelSerializer):
    title = StrictCharField(max_length=TITLE_MAX_LENGTH)
    description = StrictCharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
    )
    priority = PriorityField(required=False)
    due_at = DueAtField(required=False, allow_null=True)
    tags = TagListField(required=False, allow_null=True)

    class Meta:
        model = Task
        fields = [
            "id", "user_id", "title", "description", "completed", "priority", "due_at", "tags",
            "version", "created_at", "updated_at",
        ]
        read_only_fields = ["id", "user_id", "version", "created_at", "updated_at"]

    def create(self, validated_data):
        task = Task.objects.create_within_quota(settings.API_MAX_TASKS_PER_USER, **validated_data)
        if task is None:
            raise TaskQuotaExceeded()
        return task

    def validate_description(self, value):
        return "" if value is None else value

    def validate_tags(self, value):
        return [] if value is None else value

    def update(self, task, validated_data):
        """Write just the fields sent in one UPDATE, conditional on `versions` (If-Match) when given.

        Raises VersionMismatch when the task is no longer at one of those versions.
        """
        versions = validated_data.pop("versions", None)
        if not task.write(validated_data, versions):
            raise VersionMismatch()
        return task

    def to_representation(self, task):
        """The declared fields' output, built directly.

        DRF's field-by-field rendering was the largest cost of a page of tasks (see
        docs/performance.md); a test checks this gives exactly what the fields would.
        """
        return {
            "id": task.id,
            "user_id": task.user_id,
            "title": task.title,
            "description": task.description,
            "completed": task.completed,
            "priority": PRIORITY_LABELS[task.priority],
            "due_at": utc_iso(task.due_at),
            "tags": task.tags,
            "version": task.version,
            "created_at": utc_iso(task.created_at),
            "updated_at": utc_iso(task.updated_at),
        }


PRIORITY_LABELS = dict(Priority.choices)



BULK_ACTIONS = ("complete", "reopen", "delete")
MAX_BULK_IDS = 500
MAX_ID = 2**63 - 1  # a bigint; a larger number cannot be a task's id


def task_ids():
    return serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False)


class BulkSerializer(serializers.Serializer):
    """Exactly one of `complete`, `reopen` or `delete`, with 1 to 500 task ids."""

    complete = task_ids()
    reopen = task_ids()
    delete = task_ids()

    def validate(self, attrs):
        given = [name for name in BULK_ACTIONS if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(f"Send exactly one of {', '.join(BULK_ACTIONS)}.")
        ids = list(dict.fromkeys(attrs[given[0]]))
        if not 1 <= len(ids) <= MAX_BULK_IDS:
            raise serializers.ValidationError({given[0]: [f"Send 1 to {MAX_BULK_IDS} ids."]})
        return {"action": given[0], "ids": ids}


class BulkResultSerializer(serializers.Serializer):
    action = serializers.ChoiceField(BULK_ACTIONS)
    count = serializers.IntegerField()


class TagCountSerializer(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    """The shape of GET /api/tasks/stats (documentation only)."""

    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    pending = serializers.IntegerField()
    overdue = serializers.IntegerField()
    by_priority = serializers.DictField(child=serializers.IntegerField())
    tags = TagCountSerializer(many=True, help_text=f"The {STATS_MAX_TAGS} most used tags, most used first (ties by name).")
    tags_total = serializers.IntegerField(help_text=f"How many distinct tags there are; more than listed when over {STATS_MAX_TAGS}.")
