"""`manage.py task_stats`: how many tasks, whose, and the oldest still open; a few aggregate queries."""

from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from tasks.models import Task
from tasks.timestamps import utc_iso

BUSIEST_USERS = 10


class Command(BaseCommand):
    help = (
        f"Totals, completed and pending tasks, number of users, the {BUSIEST_USERS} users with the most "
        "tasks and the oldest open task, each computed by the database."
    )

    def handle(self, *args, **options):
        totals = Task.objects.aggregate(
            total=Count("id"),
            completed=Count("id", filter=Q(completed=True)),
            users=Count("user_id", distinct=True),
        )
        self.stdout.write(f"tasks: {totals['total']}")
        self.stdout.write(f"completed: {totals['completed']}")
        self.stdout.write(f"pending: {totals['total'] - totals['completed']}")
        self.stdout.write(f"users: {totals['users']}")
        self.write_busiest_users()
        self.write_oldest_open_task()

    def write_busiest_users(self):
        busiest = (
            Task.objects.values("user_id")
            .annotate(tasks=Count("id"), pending=Count("id", filter=Q(completed=False)))
            .order_by("-tasks", "user_id")[:BUSIEST_USERS]
        )
        self.stdout.write(f"busiest users (top {BUSIEST_USERS} by tasks):")
        for user in busiest:
            self.stdout.write(f"  {user['user_id']}: {user['tasks']} task(s), {user['pending']} pending")

    def write_oldest_open_task(self):
        # The title is the user's own text; ops need the task's identity, not its content.
        open_tasks = Task.objects.filter(completed=False).order_by("created_at", "id")
        oldest = open_tasks.values("id", "user_id", "created_at").first()
        if oldest is None:
            self.stdout.write("oldest open task: none")
            return
        self.stdout.write(
            f"oldest open task: id {oldest['id']} of user {oldest['user_id']}, created {utc_iso(oldest['created_at'])}"
        )
