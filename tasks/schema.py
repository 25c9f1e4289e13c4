"""How drf-spectacular documents the API: the bearer scheme, the error shape, headers, the alias routes.

Each operation declares its own responses with `extend_schema` beside its action (views.py),
built from the pieces here. Two postprocessing hooks then apply what holds for the whole
document: every field of a response is always sent (so required), every answer carries
`X-Request-ID`, and the `/api/{user_id}/tasks...` routes are derived from `/api/tasks...` as
an alias (own operation ids and tag, plus their 403), so a client can be generated from the
primary shape alone.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from .serializers import TEXT_CHARACTER, NullMeansEmpty

ALIAS_TAG = "tasks-by-user-id"
# A date alone or a timestamp (with its UTC offset: RFC 3339's date-time requires one).
INSTANT = [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
ALIAS_SUFFIX = "ByUserId"


class BetterAuthJWTScheme(OpenApiAuthenticationExtension):
    """A bearer JWT issued by Better Auth's jwt plugin."""

    target_class = "tasks.authentication.BetterAuthJWTAuthentication"
    name = "betterAuthJWT"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="HTTP_AUTHORIZATION", token_prefix="Bearer", bearer_format="JWT"
        )


class StrictTextScheme(OpenApiSerializerFieldExtension):
    """Text refuses NUL and lone surrogates; null, where taken as empty, only on the way in."""

    target_class = "tasks.serializers.StrictCharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema.setdefault("pattern", f"^{TEXT_CHARACTER}+$")
        return null_on_input(schema, self.target, direction)


class TagListScheme(OpenApiSerializerFieldExtension):
    target_class = "tasks.serializers.TagListField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return null_on_input(schema, self.target, direction)


def null_on_input(schema, field, direction):
    if isinstance(field, NullMeansEmpty) and direction == "request":
        return {**schema, "nullable": True}
    return schema


class DueAtScheme(OpenApiSerializerFieldExtension):
    """A date alone is taken (the end of that day, UTC); answers are always timestamps."""

    target_class = "tasks.serializers.DueAtField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "response":
            return {"type": "string", "format": "date-time"}
        return {
            "anyOf": INSTANT,
            "description": "ISO 8601 with a UTC offset, or a date alone (YYYY-MM-DD): the last second of that day, UTC.",
        }


class ErrorSerializer(serializers.Serializer):
    """Every error under /api/: a message for people and a stable code for programs."""

    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable and machine-readable; the README lists them all.")


FIELD_MESSAGES = {
    "description": "Messages about this field (an object by position for a list's items).",
    "anyOf": [
        {"type": "array", "items": {"type": "string"}},
        {"type": "object", "additionalProperties": True},
    ],
}
# The Error shape, plus one key per field (or parameter, or header) that was refused.
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail", "code"],
    "additionalProperties": FIELD_MESSAGES,
}


def error(description, codes):
    """An Error answer whose `code` is one of `codes`."""
    listed = ", ".join(f"`{code}`" for code in codes)
    return OpenApiResponse(ErrorSerializer, description=f"{description} `code`: {listed}.")


def header(name, description, responses, *, schema=str, pattern=None):
    return OpenApiParameter(
        name,
        schema,
        OpenApiParameter.HEADER,
        response=responses,
        description=description,
        pattern=pattern,
    )


def etag(*statuses):
    return header(
        "ETag",
        'The task\'s version, e.g. `"3"`: send it back in If-Match or If-None-Match.',
        list(statuses),
        pattern='^"[0-9]+"$',
    )


LOCATION = header("Location", "The new task's URL.", [201])
IDEMPOTENT_REPLAYED = header(
    "Idempotent-Replayed",
    "`true` when this answer is the replay of an earlier request with the same Idempotency-Key.",
    [201],
    pattern="^true$",
)
LINK = header("Link", '`<url>; rel="next"` when more tasks remain; absent on the last page.', [200])
WWW_AUTHENTICATE = header("WWW-Authenticate", "`Bearer`, with the reason when a token was refused.", [401])
RETRY_AFTER = header("Retry-After", "Seconds to wait before trying again.", [429], schema=int)

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='Write only if the task is still at this ETag (e.g. `"3"`, or a list); else 412 with the current task. `*` matches any version.',
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description='304 while the task still has this ETag (e.g. `"3"`), or for `*`.',
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    pattern=r"^[\x21-\x7e]{1,255}$",
    description="1-255 visible ASCII characters. A retry with the same key and body within 24 hours replays the first answer; with another body it is 422.",
)
TASK_ID = OpenApiParameter(
    "id",
    OpenApiTypes.INT64,
    OpenApiParameter.PATH,
    description="The task's id.",
)

COMMON_ERRORS = {
    400: error("The Host header names a host this server does not serve.", ["bad_request"]),
    401: error(
        "Missing, malformed, invalid or expired token (with `WWW-Authenticate: Bearer`).",
        ["not_authenticated", "bad_authorization_header", "token_not_valid", "token_expired"],
    ),
    406: error("The Accept header does not allow application/json.", ["not_acceptable"]),
    408: error("From the proxy in front: the request was not received in time.", ["request_timeout"]),
    414: error("From the proxy in front: the URL is too long.", ["uri_too_long"]),
    429: error("Too many requests for this user; see Retry-After.", ["throttled"]),
    500: error("An unexpected server error (a bug; it is logged).", ["server_error"]),
    503: error(
        "The database or Better Auth's keys cannot be reached (or, from the proxy, the app); try again shortly.",
        ["database_unavailable", "auth_unavailable", "service_unavailable"],
    ),
    504: error("From the proxy in front: the app did not answer in time.", ["upstream_timeout"]),
}
COMMON_HEADERS = [WWW_AUTHENTICATE, RETRY_AFTER]


# Named components (added by `error_components`), so a generated client has one type each.
COMPONENTS = {
    "ValidationError": VALIDATION_ERROR_SCHEMA,
    "PreconditionFailed": {
        "description": "The current task, with the Error's `detail` and `code` (`precondition_failed`) beside its fields.",
        "allOf": [{"$ref": "#/components/schemas/Task"}, {"$ref": "#/components/schemas/Error"}],
    },
}


def invalid(description):
    return OpenApiResponse(
        {"$ref": "#/components/schemas/ValidationError"},
        description=f"{description} `code`: `invalid` (or `parse_error` for unreadable JSON, `bad_request` for a Host not served); each field named keeps its messages.",
    )


NOT_FOUND = error("No such task among the caller's own (someone else's task is not found either).", ["not_found"])
TOO_LARGE = error("The body is larger than API_MAX_BODY_BYTES; it was not read.", ["request_too_large"])
UNSUPPORTED = error("The body is not application/json.", ["unsupported_media_type"])


def precondition_failed():
    """412: the current task (a `Task`) with the Error's `detail` and `code` beside its fields."""
    return OpenApiResponse(
        {"$ref": "#/components/schemas/PreconditionFailed"},
        description="If-Match names a version that is no longer current; nothing was written. The body is the current task plus `detail` and `code` (`precondition_failed`), with its ETag.",
    )


# Operations whose body must be sent (drf-spectacular cannot tell for a `oneOf` body).
BODY_REQUIRED = {"bulkTasks"}


def request_body_is_required(result, generator, request, public):
    for operation in operations(result):
        if operation.get("operationId") in BODY_REQUIRED:
            operation["requestBody"]["required"] = True
    return result


def responses(**by_status):
    """The common error answers plus an action's own (keys like `r200`)."""
    own = {int(name[1:]): response for name, response in by_status.items()}
    return {**COMMON_ERRORS, **own}


def error_components(result, generator, request, public):
    """The 400 and 412 shapes, referenced by name from every operation that answers them."""
    result["components"]["schemas"].update(COMPONENTS)
    result["components"]["schemas"] = dict(sorted(result["components"]["schemas"].items()))
    return result


def every_response_field_is_required(result, generator, request, public):
    """The server always sends every field of a response body: mark them required.

    drf-spectacular takes `required` from the serializer, which describes input
    (tfranzel/drf-spectacular#1347); request components (`...Request`) keep it.
    """
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") or "properties" not in component or name in COMPONENTS:
            continue
        component["required"] = sorted(component["properties"])
    return result


def request_id_on_every_response(result, generator, request, public):
    """Every answer carries X-Request-ID (tasks/middleware.py)."""
    request_id = {
        "description": "The request's id: the caller's X-Request-ID when it is 1-128 of A-Z a-z 0-9 . _ -, else a new one.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
    }
    for operation in operations(result):
        for response in operation["responses"].values():
            response.setdefault("headers", {})["X-Request-ID"] = request_id
    return result


def user_id_routes_are_an_alias(result, generator, request, public):
    """`/api/{user_id}/tasks...` is the original specification's shape of `/api/tasks...`.

    Its operations get their own ids (`listTasksByUserId`) and tag, `x-alias-of` naming the
    primary operation, and the 403 its `user_id` check adds; a generator that skips the tag
    (or `x-alias-of`) gets the primary shape alone.
    """
    for path, item in result["paths"].items():
        if "{user_id}" not in path:
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            operation["x-alias-of"] = operation["operationId"]
            operation["operationId"] += ALIAS_SUFFIX
            operation["tags"] = [ALIAS_TAG]
            operation["responses"]["403"] = {
                "description": "`{user_id}` is not the token's subject. `code`: `user_mismatch`.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            operation["responses"] = dict(sorted(operation["responses"].items()))
    result["tags"] = [
        {"name": "tasks", "description": "The caller's tasks; the owner is the token's `sub`."},
        {
            "name": ALIAS_TAG,
            "description": "The same operations under the original `/api/{user_id}/tasks` shape; `{user_id}` must be the token's `sub` (else 403). Skip this tag to generate a client of `/api/tasks` alone.",
        },
        {"name": "health", "description": "For load balancers; no token."},
    ]
    return result


def operations(result):
    for item in result["paths"].values():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete") and isinstance(operation, dict):
                yield operation
