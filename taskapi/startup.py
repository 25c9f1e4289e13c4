"""Refusing to start on a broken configuration: one clear line, no traceback, no hang.

manage.py calls this before runserver and migrate, gunicorn.conf.py before forking workers.
"""

import sys

import django
from django.core.exceptions import ImproperlyConfigured


def startup_errors(*, serving_production=False):
    """What stops this configuration from working, one line each; empty when it is sound."""
    try:
        django.setup()
    except (ImproperlyConfigured, ValueError) as e:
        return [str(e)]
    from tasks.checks import configuration_errors, production_secret_key_problem

    errors = configuration_errors()
    if serving_production and (problem := production_secret_key_problem()):
        errors.append(problem)
    return errors


def exit_on_configuration_errors():
    """For manage.py: print the errors on one line and exit with status 1."""
    errors = startup_errors()
    if errors:
        sys.exit(f"taskapi: configuration error: {'; '.join(errors)}")
