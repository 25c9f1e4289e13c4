"""The task's JSON shape and the rules a client's input must meet."""

import re
from datetime import datetime, time, timezone

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
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
from .task_rows import MAX_ID
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


# What JSON Schema can say of these rules: no NUL, and a trimmed text's length counted between
# its first and last visible characters. (Lone surrogates, also refused, cannot be written in
# a pattern every validator compiles.)
TEXT_CHARACTER = r"[^\x00]"
# Exactly what str.strip() removes (str.isspace()), spelled out: regex engines disagree on `\s`.
WHITESPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
VISIBLE_CHARACTER = rf"[^{WHITESPACE}\x00]"


def trimmed_text_schema(max_length, description):
    inner = f"{TEXT_CHARACTER}{{0,{max_length - 2}}}"
    pattern = rf"^[{WHITESPACE}]*{VISIBLE_CHARACTER}(?:{inner}{VISIBLE_CHARACTER})?[{WHITESPACE}]*$"
    return {"type": "string", "pattern": pattern, "description": description}


class TrimmedTextField(StrictCharField):
    """Text whose length is checked once surrounding whitespace is stripped.

    The limit is checked here rather than by a MaxLengthValidator, which drf-spectacular would
    document as a `maxLength` of the text as sent; the pattern of `trimmed_text_schema` says it.
    """

    max_characters = None

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(value) > self.max_characters:
            self.fail("max_length", max_length=self.max_characters)
        return value


@extend_schema_field(
    trimmed_text_schema(
        TITLE_MAX_LENGTH, f"Surrounding whitespace is stripped, then 1-{TITLE_MAX_LENGTH} characters; no NUL."
    )
)
class TitleField(TrimmedTextField):
    max_characters = TITLE_MAX_LENGTH


@extend_schema_field(
    trimmed_text_schema(TAG_MAX_LENGTH, f"Trimmed, then 1-{TAG_MAX_LENGTH} characters; compared ignoring case.")
)
class TagField(TrimmedTextField):
    max_characters = TAG_MAX_LENGTH


class NullMeansEmpty:
    """Takes null as the field's empty value (`""`, `[]`); so it never answers null."""

    empty_when_null = None

    def validate_empty_values(self, data):
        if data is None:
            return True, type(self).empty_when_null()
        return super().validate_empty_values(data)


class DescriptionField(NullMeansEmpty, StrictCharField):
    empty_when_null = str


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
        try:
            # In UTC before it reaches PostgreSQL, which takes offsets only up to 15:59.
            return super().to_internal_value(value).astimezone(timezone.utc)
        except OverflowError:
            self.fail("invalid", format="a moment between years 1 and 9999 in UTC")


class StrictBooleanField(serializers.BooleanField):
    """JSON `true` or `false` only (DRF's also takes "yes", 1, "on", ...), as the document says."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class PriorityField(serializers.ChoiceField):
    """Priority by name (low, medium, high); stored as 1-3 so that it sorts."""

    def __init__(self, **kwargs):
        super().__init__(choices=Priority.labels, **kwargs)

    def to_internal_value(self, data):
        return Priority[super().to_internal_value(data).upper()].value

    def to_representation(self, value):
        return Priority(value).label


class TagListField(NullMeansEmpty, serializers.ListField):
    """Up to 20 tags of 1-32 characters, trimmed; duplicates (ignoring case) dropped, order kept."""

    empty_when_null = list
    child = TagField()

    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_TAGS, allow_empty=True, **kwargs)

    def to_internal_value(self, data):
        return unique_tags(super().to_internal_value(data))


def unbound_copy(field):
    """A copy of an unbound field for one serializer to bind, without constructing it again.

    DRF's own copy (`Field.__deepcopy__`) calls the constructor again with the original
    arguments, which was most of the cost of a create's or update's fields. What a
    constructor sets (validators, error messages, choices) is never changed afterwards, so
    copies may share it; what binding sets (name, parent, label, source) is the copy's own.
    A list's child field gets a copy of its own too, whose parent is the copied list.
    """
    clone = shallow_copy(field)
    if isinstance(field, serializers.ListField):
        clone.child = shallow_copy(field.child)
        clone.child.parent = clone
    return clone


def shallow_copy(field):
    """What `copy.copy` makes of a field (a new instance sharing its attributes), at a quarter of its cost."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class TaskSerializer(serializers.ModelSerializer):
    title = TitleField()
    description = DescriptionField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True, trim_whitespace=False
    )
    completed = StrictBooleanField(required=False)
    priority = PriorityField(required=False)
    due_at = DueAtField(required=False, allow_null=True)
    tags = TagListField(required=False)

    class Meta:
        model = Task
        fields = [
            "id",
            "user_id",
            "title",
            "description",
            "completed",
            "priority",
            "due_at",
            "tags",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "user_id", "version", "created_at", "updated_at"]
        # What DRF would derive from the model's unique constraints and unique_for_date fields,
        # worked out again on every validation: a task has none of either.
        validators = []

    def get_fields(self):
        """ModelSerializer's fields, worked out from the model once per process, copied for each serializer.

        DRF rebuilds them from the model on every instance (every create and update); each
        serializer still gets its own copies, as DRF gives it its own declared fields.
        """
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = super().get_fields()
            type(self)._built_fields = built
        return {name: unbound_copy(field) for name, field in built.items()}

    def create(self, validated_data):
        task = Task.objects.create_within_quota(settings.API_MAX_TASKS_PER_USER, **validated_data)
        if task is None:
            raise TaskQuotaExceeded()
        return task

    def update(self, task, validated_data):
        """Write just the fields sent in one UPDATE, conditional on `versions` (If-Match) when given.

        `task` need not have been read: its id and owner name the row, and the task as written
        comes back. Raises VersionMismatch when no row matched (none of the owner's, or another version).
        """
        versions = validated_data.pop("versions", None)
        written = task.write(validated_data, versions)
        if written is None:
            raise VersionMismatch()
        return written

    def to_representation(self, task):
        """The declared fields' output, built directly, from a Task or a row of its values.

        DRF's field-by-field rendering was the largest cost of a page of tasks (see
        docs/performance.md); a test checks this gives exactly what the fields would. Reads
        pass rows (`values(*Meta.fields)`), which skip building a model instance per task.
        """
        row = task if isinstance(task, dict) else vars(task)
        return {
            "id": row["id"],
            "user_id": row["user_id"],
            "title": row["title"],
            "description": row["description"],
            "completed": row["completed"],
            "priority": PRIORITY_LABELS[row["priority"]],
            "due_at": utc_iso(row["due_at"]),
            "tags": row["tags"],
            "version": row["version"],
            "created_at": utc_iso(row["created_at"]),
            "updated_at": utc_iso(row["updated_at"]),
        }


PRIORITY_LABELS = dict(Priority.choices)


BULK_ACTIONS = ("complete", "reopen", "delete")
MAX_BULK_IDS = 500


def task_ids(**kwargs):
    return serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=MAX_BULK_IDS, **kwargs
    )


class BulkSerializer(serializers.Serializer):
    """Exactly one of `complete`, `reopen` or `delete`, with 1 to 500 task ids."""

    complete = task_ids(required=False)
    reopen = task_ids(required=False)
    delete = task_ids(required=False)

    def validate(self, attrs):
        given = [name for name in BULK_ACTIONS if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(f"Send exactly one of {', '.join(BULK_ACTIONS)}.")
        return {"action": given[0], "ids": list(dict.fromkeys(attrs[given[0]]))}


def bulk_action_serializer(name):
    """The documented shape of one bulk action: `{"<name>": [ids]}` (BulkSerializer checks the body)."""
    return type(
        f"Bulk{name.title()}Serializer",
        (serializers.Serializer,),
        {
            name: task_ids(help_text=f"1 to {MAX_BULK_IDS} ids of the caller's tasks (repeats count once)."),
            "__doc__": f"{name.title()} these tasks.",
        },
    )


# Exactly one action per request: a body naming two matches two of these, so it fails `oneOf`.
BULK_REQUEST = PolymorphicProxySerializer(
    component_name="Bulk",
    serializers=[bulk_action_serializer(name) for name in BULK_ACTIONS],
    resource_type_field_name=None,
)


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
    tags = TagCountSerializer(
        many=True, help_text=f"The {STATS_MAX_TAGS} most used tags, most used first (ties by name)."
    )
    tags_total = serializers.IntegerField(
        help_text=f"How many distinct tags there are; more than listed when over {STATS_MAX_TAGS}."
    )
