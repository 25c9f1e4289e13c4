"""Both route shapes, each with and without a trailing slash (no redirect may drop a POST)."""

from rest_framework.routers import SimpleRouter

from .views import TaskViewSet


class OptionalSlashRouter(SimpleRouter):
    """A SimpleRouter whose routes match with or without the trailing slash."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("tasks", TaskViewSet, basename="task")
# The original specification's shape; PathUserIsCaller checks `{user_id}` against the token.
router.register(r"(?P<user_id>[^/]+)/tasks", TaskViewSet, basename="user-task")

urlpatterns = router.urls
