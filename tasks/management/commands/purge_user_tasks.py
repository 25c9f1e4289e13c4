"""`manage.py purge_user_tasks`: delete every task of one user, as account deletion requires."""

import sys

from django.core.management.base import BaseCommand, CommandError

from tasks.models import Task


class Command(BaseCommand):
    help = (
        "Delete every task of one user (the Better Auth user id, the tokens' `sub`). Asks for "
        "confirmation unless --yes; refuses to run unattended without --yes."
    )
    # call_command(..., stdin=...) stands in for the terminal in tests, as for createsuperuser.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("user_id", metavar="USER_ID")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--dry-run", action="store_true", help="only show how many tasks would go")

    def handle(self, *args, user_id, yes, dry_run, **options):
        if not user_id.strip():
            raise CommandError("USER_ID must not be blank")
        tasks = Task.objects.owned_by(user_id)
        count = tasks.count()
        if dry_run or not count:
            self.stdout.write(f"{count} task(s) of user {user_id!r}" + (" would be deleted (dry run)" if count else ""))
            return
        if not yes:
            self.confirm(f"Delete {count} task(s) of user {user_id!r}? This cannot be undone. Type 'yes': ", options)
        deleted, _ = tasks.delete()
        self.stdout.write(f"deleted {deleted} task(s) of user {user_id!r}")

    def confirm(self, question, options):
        stdin = options.get("stdin", sys.stdin)
        if not stdin.isatty():
            raise CommandError("stdin is not a terminal, so nobody can confirm; pass --yes to delete unattended")
        self.stdout.write(question, ending="")
        self.stdout.flush()
        if stdin.readline().strip().lower() != "yes":
            raise CommandError("not confirmed; nothing deleted")
