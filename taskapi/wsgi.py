"""WSGI entry point for gunicorn: `gunicorn taskapi.wsgi`."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")

application = get_wsgi_application()

# runserver and migrate run the system checks themselves; gunicorn does not, and
# serving with a broken token-verification setup would reject every request.
from tasks.checks import raise_on_auth_misconfiguration  # noqa: E402

raise_on_auth_misconfiguration()
