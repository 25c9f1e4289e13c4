"""How drf-spectacular documents the API: the bearer scheme, operation ids, error answers."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .serializers import TaskSerializer


class BetterAuthJWTScheme(OpenApiAuthenticationExtension):
    """A bearer JWT issued by Better Auth's jwt plugin."""

    target_class = "tasks.authentication.BetterAuthJWTAuthentication"
    name = "betterAuthJWT"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="HTTP_AUTHORIZATION", token_prefix="Bearer", bearer_format="JWT"
        )


class ErrorSerializer(serializers.Serializer):
    """An error answer: a message, and for 401/503 a stable machine-readable code."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='`{"detail": ...}` for an unreadable body, else `{"field": ["message", ...]}`.',
)


def error(description):
    return OpenApiResponse(ErrorSerializer, description=description)


class TaskAutoSchema(AutoSchema):
    """Keeps the two route shapes apart (own operation ids and tag) and lists every error answer."""

    def is_user_path(self):
        return "{user_id}" in self.path

    def get_operation_id(self):
        operation_id = super().get_operation_id()
        return f"user_path_{operation_id}" if self.is_user_path() else operation_id

    def get_tags(self):
        return ["tasks (original /api/{user_id}/ shape)"] if self.is_user_path() else ["tasks"]

    def error_responses(self):
        responses = {
            "401": error("Missing, malformed, invalid or expired token."),
            "429": error("Too many requests for this user; see Retry-After."),
            "503": error("The database or Better Auth's keys cannot be reached."),
        }
        if self.method in ("POST", "PUT", "PATCH"):
            responses["400"] = VALIDATION_ERROR
            responses["413"] = error("Request body is too large.")
            responses["415"] = error("The body is not application/json.")
        elif self._is_list_view():
            responses["400"] = VALIDATION_ERROR
        if self.is_user_path():
            responses["403"] = error("{user_id} is not the token's subject.")
        if "{id}" in self.path:
            responses["404"] = error("No such task among the caller's own.")
            if self.method == "GET":
                responses["304"] = OpenApiResponse(description="Not modified: If-None-Match names the current ETag.")
            else:
                responses["412"] = OpenApiResponse(TaskSerializer, description="If-Match is stale; the body is the current task.")
        if self.method == "POST" and self.path.rstrip("/").endswith("tasks"):
            responses["422"] = error("This Idempotency-Key was used with a different body.")
        if self.path.rstrip("/").endswith("bulk"):
            responses["404"] = error("An id is not among the caller's tasks; nothing was changed.")
        return responses

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in self.error_responses().items():
            responses.setdefault(code, self._get_response_for_code(response, code, direction=direction))
        return responses
