"""A `.env` file for local development, read by the entry points (manage.py, wsgi.py, gunicorn.conf.py).

A variable already in the real environment is never replaced, so a platform's configuration (or a
one-off `DJANGO_DEBUG=1 python manage.py ...`) always wins over the file. Settings do not read the
file themselves, so the test suite sees only the environment it is given.
"""

import os
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_PATH = Path(__file__).resolve().parent.parent / ".env"


def load_local_env():
    """Read DJANGO_DOTENV_FILE (default `.env` beside manage.py) if it exists; empty reads nothing."""
    path = os.environ.get("DJANGO_DOTENV_FILE", str(DEFAULT_PATH))
    if path:
        load_dotenv(path, override=False)
