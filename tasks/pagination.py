"""Keyset pagination that keeps the list body a bare JSON array.

DRF's CursorPagination wraps results in an envelope and pages through ties on its first
ordering field with an offset; here the cursor holds the full sort key of the last row
(every ordering ends with the unique `id`), so each page is one range scan however deep it
is, tasks created meanwhile never shift later pages, and the next page's address travels
in a `Link: <...>; rel="next"` header.
"""

import base64
import binascii
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from .client_values import OutOfRange, parse_instant, storable_text, whole_number


class KeysetPagination(BasePagination):
    """Pages of `?limit=` rows (dicts, from `values()`) in the ordering filter's order; `?cursor=` comes from the previous `Link`."""

    default_limit = 100
    max_limit = 500
    query_params = ("limit", "cursor")

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        limit = self.get_limit(request)
        terms = self.get_ordering(request, queryset, view)
        fields = [(term.lstrip("-"), term.startswith("-")) for term in terms]
        position = self.get_position(request, queryset.model, terms, fields)
        if position is not None:
            queryset = queryset.filter(rows_after(queryset.model, fields, position))
        rows = list(queryset[: limit + 1])
        self.next_position = self.encode(terms, fields, rows[limit - 1]) if len(rows) > limit else None
        return rows[:limit]

    def get_ordering(self, request, queryset, view):
        """The ordering filter's terms (e.g. `["-created_at", "-id"]`); else the model's default order.

        Like DRF's CursorPagination, this asks the view's ordering filter rather than reading
        the order back from the queryset.
        """
        for backend in getattr(view, "filter_backends", []):
            if hasattr(backend, "get_ordering"):
                return backend().get_ordering(request, queryset, view)
        return list(queryset.model._meta.ordering)

    def get_paginated_response(self, data):
        headers = {}
        if self.next_position is not None:
            url = replace_query_param(self.request.build_absolute_uri(), "cursor", self.next_position)
            headers["Link"] = f'<{url}>; rel="next"'
        return Response(data, headers=headers)

    def get_limit(self, request):
        raw = request.query_params.get("limit")
        if raw is None:
            return self.default_limit
        try:
            return whole_number(raw, 1, self.max_limit)
        except OutOfRange as e:
            raise ValidationError({"limit": [str(e)]}, code="invalid") from e

    def encode(self, terms, fields, row):
        values = [row[name] for name, _ in fields]
        values = [v.isoformat() if hasattr(v, "isoformat") else v for v in values]
        payload = json.dumps({"o": ",".join(terms), "v": values}, separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def get_position(self, request, model, terms, fields):
        raw = request.query_params.get("cursor")
        if raw is None:
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            if payload["o"] != ",".join(terms) or len(payload["v"]) != len(fields):
                raise ValueError("the cursor belongs to another ordering")
            return [cursor_value(model, name, value) for (name, _), value in zip(fields, payload["v"], strict=True)]
        except (ValueError, TypeError, KeyError, binascii.Error, DjangoValidationError) as e:
            message = "Invalid cursor (or one made for another ordering)."
            raise ValidationError({"cursor": [message]}, code="invalid_cursor") from e

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size, 1 to {self.max_limit} (default {self.default_limit}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": 'Opaque position, taken from the `Link: <...>; rel="next"` header; any other value is 400.',
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
            },
        ]

    def get_paginated_response_schema(self, schema):
        return schema


def cursor_value(model, name, value):
    """A sort key's value as the cursor carries it, checked as strictly as a client's input.

    The cursor is plain base64 JSON that any client can forge; it only positions the caller
    within their own tasks, so it needs no signature, but each value must be one the column
    can hold (OutOfRange, a ValueError, otherwise).
    """
    field = model._meta.get_field(name)
    if value is None:
        if not field.null:
            raise OutOfRange(f"{name} cannot be null")
        return None
    if isinstance(field, models.DateTimeField):
        return parse_instant(value)
    if isinstance(field, models.IntegerField):  # the id and priority; JSON may hold 1e400, 1.5, true
        if isinstance(value, bool) or not isinstance(value, int):
            raise OutOfRange(f"{name} must be a whole number")
        field.run_validators(value)  # the column's own range, as Django knows it per database
        return value
    field.run_validators(storable_text(value))
    return value


def rows_after(model, fields, position):
    """Rows sorting after `position`: (a, b) > (x, y) spelled a > x OR (a = x AND b > y).

    Nullable fields sort nulls last in both directions, so after a value come the greater
    (or smaller) values and then the nulls, and after a null only the nulls' ties.

    The OR alone is a filter PostgreSQL applies row by row; the redundant bound on the first
    field (`created_at <= x`) turns it into an index range, so a deep page costs what the
    first does.
    """
    (first, descending), value = fields[0], position[0]
    bound = Q()
    if value is None:
        bound = Q(**{f"{first}__isnull": True})
    elif not model._meta.get_field(first).null:
        bound = Q(**{f"{first}__{'lte' if descending else 'gte'}": value})
    after, equal = Q(pk__in=[]), Q()
    for (name, descending), value in zip(fields, position, strict=True):
        if value is None:
            equal &= Q(**{f"{name}__isnull": True})
            continue
        beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
        if model._meta.get_field(name).null:
            beyond |= Q(**{f"{name}__isnull": True})
        after |= equal & beyond
        equal &= Q(**{name: value})
    return bound & after
