"""Keyset pagination that keeps the list body a bare JSON array.

DRF's CursorPagination wraps results in an envelope and pages through ties on its first
ordering field with an offset; here the cursor holds the full sort key of the last row,
so every page is one index range scan however deep it is, and the next page's address
travels in a `Link: <...>; rel="next"` header.
"""
import base64
import binascii
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param


class KeysetPagination(BasePagination):
    """Newest-first pages of `?limit=` rows; `?cursor=` comes from the previous page's `Link`."""

    default_limit = 100
    max_limit = 500
    ordering = ("-created_at", "-id")

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        limit = self.get_limit(request)
        queryset = queryset.order_by(*self.ordering)
        position = self.get_position(request, queryset.model)
        if position is not None:
            queryset = queryset.filter(self.rows_after(position))
        rows = list(queryset[: limit + 1])
        self.next_position = self.position_of(rows[limit - 1]) if len(rows) > limit else None
        return rows[:limit]

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
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_limit:
            raise ValidationError({"limit": [f"Must be a whole number from 1 to {self.max_limit}."]})
        return int(raw)

    @property
    def fields(self):
        return [(name.lstrip("-"), name.startswith("-")) for name in self.ordering]

    def position_of(self, row):
        values = [getattr(row, name) for name, _ in self.fields]
        encoded = json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in values])
        return base64.urlsafe_b64encode(encoded.encode()).decode().rstrip("=")

    def get_position(self, request, model):
        raw = request.query_params.get("cursor")
        if raw is None:
            return None
        try:
            values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            if not isinstance(values, list) or len(values) != len(self.fields) or None in values:
                raise ValueError("wrong shape")
            return [model._meta.get_field(name).to_python(v) for (name, _), v in zip(self.fields, values)]
        except (ValueError, TypeError, binascii.Error, DjangoValidationError) as e:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from e

    def rows_after(self, position):
        """Rows that sort after `position`: (a, b) > (x, y) spelled as a > x OR (a = x AND b > y)."""
        after, equal = Q(), Q()
        for (name, descending), value in zip(self.fields, position):
            after |= equal & Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
            equal &= Q(**{name: value})
        return after

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
                "description": 'Opaque position, taken from the `Link: <...>; rel="next"` header.',
                "schema": {"type": "string"},
            },
        ]

    def get_paginated_response_schema(self, schema):
        return schema
