"""Finding and ordering tasks on the list endpoint; every filter runs inside the owner's scope."""

from datetime import datetime, time, timedelta, timezone

import django_filters
from django import forms
from django.db.models import F, Q
from django.utils import timezone as django_timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from .client_values import LATEST_INSTANT, OutOfRange, in_utc, storable_text
from .models import DESCRIPTION_MAX_LENGTH, TAG_MAX_LENGTH, Priority, Task
from .pagination import KeysetPagination
from .serializers import WHITESPACE, trimmed_text_schema


class InstantField(forms.Field):
    """ISO 8601 with a UTC offset, or a date alone; `day_end` picks which edge of the day."""

    def __init__(self, *args, day_end=False, **kwargs):
        self.day_end = day_end
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            day, moment = parse_date(value), parse_datetime(value)
        except ValueError:
            day = moment = None
        if day is not None:
            return self.day_edge(day)
        if moment is None or moment.tzinfo is None:
            raise forms.ValidationError("Use YYYY-MM-DD or an ISO 8601 timestamp with a UTC offset.", code="invalid")
        try:
            return in_utc(moment)
        except OutOfRange as e:
            raise forms.ValidationError(str(e), code="out_of_range") from e

    def day_edge(self, day):
        """A date covers the whole UTC day: from its first instant, or up to its end."""
        start = datetime.combine(day, time.min, tzinfo=timezone.utc)
        if not self.day_end:
            return start
        try:
            return start + timedelta(days=1)
        except OverflowError:
            # 9999-12-31 ends after the last instant anything can hold; only that very
            # microsecond (23:59:59.999999) falls outside `< LATEST_INSTANT`.
            return LATEST_INSTANT


@extend_schema_field(
    {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "description": "YYYY-MM-DD (a whole UTC day) or an ISO 8601 timestamp with a UTC offset.",
    }
)
class InstantFilter(django_filters.Filter):
    field_class = InstantField


class TagKeysField(forms.Field):
    """Every value of a repeated parameter (`tag=a&tag=b`), as lower-case tag keys."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        keys = [tag.strip().lower() for tag in value or [] if tag.strip()]
        if any(len(key) > TAG_MAX_LENGTH for key in keys):
            raise forms.ValidationError(f"Tags are at most {TAG_MAX_LENGTH} characters.", code="max_length")
        try:
            return [storable_text(key) for key in keys]
        except OutOfRange as e:
            raise forms.ValidationError(str(e), code="invalid_text") from e


@extend_schema_field({"type": "array", "items": trimmed_text_schema(TAG_MAX_LENGTH, "A tag, compared ignoring case.")})
class TagsFilter(django_filters.Filter):
    """Tasks carrying any of the given tags, or all of them with `match_all`."""

    field_class = TagKeysField

    def __init__(self, *args, match_all=False, **kwargs):
        self.match_all = match_all
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{"tag_keys__has_keys" if self.match_all else "tag_keys__has_any_keys": value})


BOOLEAN_CHOICES = [("true", "true"), ("false", "false")]


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(django_filters.TypedChoiceFilter):
    """Documented as the boolean it is, not as an enum of the strings "true" and "false"."""


def strict_boolean(**kwargs):
    """A filter taking exactly `true` or `false`; anything else is a 400, not an ignored filter."""
    return BooleanFilter(choices=BOOLEAN_CHOICES, coerce=lambda value: value == "true", **kwargs)


class TaskFilter(django_filters.FilterSet):
    completed = strict_boolean()
    priority = django_filters.MultipleChoiceFilter(
        choices=[(label, label) for label in Priority.labels], method="filter_priority"
    )
    tag = TagsFilter(help_text="Tasks carrying any of these tags (repeat the parameter).")
    tag_all = TagsFilter(match_all=True, help_text="Tasks carrying all of these tags.")
    due_before = InstantFilter(field_name="due_at", lookup_expr="lt", day_end=True)
    due_after = InstantFilter(field_name="due_at", lookup_expr="gte")
    overdue = strict_boolean(method="filter_overdue")
    created_after = InstantFilter(field_name="created_at", lookup_expr="gt")
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gte")
    # Longer text than a description holds cannot match anything.
    search = django_filters.CharFilter(
        method="filter_search", max_length=DESCRIPTION_MAX_LENGTH, help_text="Text in the title or description."
    )

    class Meta:
        model = Task
        fields = []

    @extend_schema_field({"type": "string", "enum": list(Priority.labels)})
    def filter_priority(self, queryset, name, value):
        return queryset.filter(priority__in=[Priority[label.upper()] for label in value]) if value else queryset

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_overdue(self, queryset, name, value):
        overdue = Q(completed=False, due_at__lt=django_timezone.now())
        return queryset.filter(overdue if value else ~overdue)

    @extend_schema_field(trimmed_text_schema(DESCRIPTION_MAX_LENGTH, "Text in the title or description, trimmed."))
    def filter_search(self, queryset, name, value):
        # icontains escapes % and _, so they match literally.
        value = value.strip()
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value)) if value else queryset


class QueryValueRules(BaseFilterBackend):
    """One rule for every list parameter: an empty value, or a repeated single-valued one, is a 400 naming it.

    Left alone, a form field reads the last of repeated values and many ignore an empty one,
    so a client's mistake would silently widen or change its query. Parameters the list does
    not know are ignored (cache busters and the like).
    """

    multi_valued = frozenset({"priority", "tag", "tag_all"})

    def filter_queryset(self, request, queryset, view):
        known = TaskFilter.base_filters.keys() | {TaskOrdering.param, *KeysetPagination.query_params}
        for name, values in request.query_params.lists():
            if name not in known:
                continue
            if any(not value.strip() for value in values):
                raise ValidationError({name: ["Give a value, or leave the parameter out."]}, code="empty_value")
            if len(values) > 1 and name not in self.multi_valued:
                raise ValidationError({name: ["Give this parameter once."]}, code="repeated_parameter")
        return queryset


class TaskFilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipped when the request names none of the filters.

    It builds and validates a form of every filter on each request, which cost more than the
    query itself on a plain list (docs/performance.md); most list requests filter nothing.
    """

    def filter_queryset(self, request, queryset, view):
        if request.query_params.keys() & TaskFilter.base_filters.keys():
            return super().filter_queryset(request, queryset, view)
        return queryset


class TaskOrdering(BaseFilterBackend):
    """`ordering=-priority,due_at`: allowed fields, `-` for descending; `due_at` nulls last both ways.

    The order always ends with `id`, so that it is total and the keyset pagination can
    resume exactly where a page stopped; `id` runs the way the first field does, which is
    how the (user_id, field, id) indexes are laid out.
    """

    param = "ordering"
    fields = ("created_at", "updated_at", "due_at", "priority", "title")
    default = ("-created_at",)

    def get_terms(self, request):
        raw = request.query_params.get(self.param)
        if raw is None:
            return list(self.default)
        terms = [term.strip() for term in raw.split(",")]
        unknown = [term for term in terms if term.lstrip("-") not in self.fields]
        if unknown or len({term.lstrip("-") for term in terms}) != len(terms):
            allowed = ", ".join(self.fields)
            raise ValidationError({self.param: [f"Use one or more of {allowed}, each once, with - for descending."]})
        return terms

    def get_ordering(self, request, queryset, view):
        """The terms to sort by, `id` last: what the keyset pagination asks for, as DRF's cursor does."""
        terms = self.get_terms(request)
        return [*terms, "-id" if terms[0].startswith("-") else "id"]

    def filter_queryset(self, request, queryset, view):
        return queryset.order_by(*[order_expression(term) for term in self.get_ordering(request, queryset, view)])

    def get_schema_operation_parameters(self, view):
        term = rf"[{WHITESPACE}]*-?(?:{'|'.join(self.fields)})[{WHITESPACE}]*"
        return [
            {
                "name": self.param,
                "in": "query",
                "required": False,
                "description": (
                    f"Comma list of {', '.join(self.fields)}, each at most once; prefix - for descending. "
                    "Default -created_at. Anything else is 400."
                ),
                "schema": {"type": "string", "pattern": f"^{term}(?:,{term})*$"},
            }
        ]


def order_expression(term):
    """`-due_at` -> F("due_at").desc(nulls_last=True); nulls-last only where nulls can be."""
    name, descending = term.lstrip("-"), term.startswith("-")
    nulls_last = True if Task._meta.get_field(name).null else None
    return F(name).desc(nulls_last=nulls_last) if descending else F(name).asc(nulls_last=nulls_last)
