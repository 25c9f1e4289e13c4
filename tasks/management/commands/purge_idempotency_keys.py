"""`manage.py purge_idempotency_keys`: delete Idempotency-Key records older than 24 hours."""

from django.core.management.base import BaseCommand

from tasks.models import IdempotencyKey


class Command(BaseCommand):
    help = "Delete the Idempotency-Key records older than 24 hours (expired keys are also dropped on reuse)."

    def handle(self, *args, **options):
        count, _ = IdempotencyKey.objects.expired().delete()
        self.stdout.write(f"deleted {count} expired idempotency key(s)")
