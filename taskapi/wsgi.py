"""WSGI entry point for gunicorn: `gunicorn taskapi.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

from taskapi.local_env import load_local_env

load_local_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")

application = get_wsgi_application()

# runserver and migrate run the system checks themselves; gunicorn does not, and
# serving with a broken token-verification or rate-limit setup would fail every request.
from tasks.checks import raise_on_configuration_errors  # noqa: E402

raise_on_configuration_errors()

# Requests must not wait on a frozen PostgreSQL for longer than DATABASE_RESPONSE_TIMEOUT
# (management commands, such as a long migration, are left without that bound).
from tasks.database import bound_database_waits  # noqa: E402

bound_database_waits()
