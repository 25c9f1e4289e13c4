"""A person's task, owned by the Better Auth user id found in their token's `sub`."""
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Now
from django.db.models.lookups import LessThanOrEqual

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000


class TaskQuerySet(models.QuerySet):
    def owned_by(self, user_id):
        return self.filter(user_id=user_id)

    def toggle_completed(self):
        """Flip `completed` in one `UPDATE ... SET completed = NOT completed`; returns the row count.

        Done in the database so that concurrent toggles never read-modify-write over each other.
        """
        return self.update(completed=~F("completed"), updated_at=Now())

    def set_completed(self, completed):
        """Set `completed` on the rows not already in that state; returns how many changed.

        Rows already in that state keep their `updated_at`: nothing about them changed.
        """
        return self.exclude(completed=completed).update(completed=completed, updated_at=Now())


class Task(models.Model):
    user_id = models.CharField(max_length=255)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    completed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Serves each person's newest-first list and its keyset pages.
            models.Index(fields=["user_id", "-created_at", "-id"], name="task_user_created_idx"),
            # Serves the admin's newest-first list of everyone's tasks, its date filters and
            # the date hierarchy's first/last dates, without sorting the whole table.
            models.Index(fields=["-created_at", "-id"], name="task_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_empty"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("description"), DESCRIPTION_MAX_LENGTH),
                name="task_description_max_length",
            ),
        ]

    def __str__(self):
        return self.title
