"""Who may use a route, decided before any task is looked up."""

from rest_framework.permissions import BasePermission


class PathUserIsCaller(BasePermission):
    """On `/api/{user_id}/tasks...` routes, `{user_id}` must be the token's `sub`."""

    message = "You can only access your own tasks."
    code = "user_mismatch"

    def has_permission(self, request, view):
        path_user_id = view.kwargs.get("user_id")
        return path_user_id is None or path_user_id == request.user.id
