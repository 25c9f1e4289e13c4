from django.apps import AppConfig


class TasksConfig(AppConfig):
    """The task app: models, API, admin and the Better Auth integration."""

    name = "tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the system checks and drf-spectacular's description of our auth class.
        from . import checks, schema  # noqa: F401
