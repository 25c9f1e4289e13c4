"""How drf-spectacular documents our authentication, so Swagger UI's "Authorize" works."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class BetterAuthJWTScheme(OpenApiAuthenticationExtension):
    """A bearer JWT issued by Better Auth's jwt plugin."""

    target_class = "tasks.authentication.BetterAuthJWTAuthentication"
    name = "betterAuthJWT"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="HTTP_AUTHORIZATION", token_prefix="Bearer", bearer_format="JWT"
        )


class TaskAutoSchema(AutoSchema):
    """Keeps the two route shapes apart in the document: own operation ids and tag."""

    def is_user_path(self):
        return "{user_id}" in self.path

    def get_operation_id(self):
        operation_id = super().get_operation_id()
        return f"user_path_{operation_id}" if self.is_user_path() else operation_id

    def get_tags(self):
        return ["tasks (original /api/{user_id}/ shape)"] if self.is_user_path() else ["tasks"]
