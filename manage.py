#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands that serve or change the database stop at once, in one line, on a configuration error;
# the others (check, collectstatic, ...) still run, and `check` reports the errors in full.
COMMANDS_REFUSING_BAD_CONFIGURATION = {"runserver", "migrate", "migrate_safely"}


def main():
    from taskapi.local_env import load_local_env

    load_local_env()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
    from django.core.management import execute_from_command_line

    if len(sys.argv) > 1 and sys.argv[1] in COMMANDS_REFUSING_BAD_CONFIGURATION:
        from taskapi.startup import exit_on_configuration_errors

        exit_on_configuration_errors()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
