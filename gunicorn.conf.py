"""gunicorn's settings, read from the working directory by `gunicorn taskapi.wsgi`.

Every knob comes from the environment (see .env.example); the defaults suit a small container.
"""

import os
import shutil
import tempfile
from pathlib import Path

from taskapi.local_env import load_local_env

load_local_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")

# deploy/web.py (the Procfile's web process) binds gunicorn to a private unix socket behind nginx;
# run alone, gunicorn listens on $PORT and must then sit behind another buffering proxy, since a
# sync worker waits on a slow client for as long as the client likes.
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# More than one thread switches gunicorn to its gthread worker (and each thread holds its own
# database connection).
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Each worker is replaced after about this many requests (0 = never), so a slow leak cannot grow
# without bound; the jitter keeps the workers from all restarting at the same moment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "100"))
# gunicorn's runtime control socket is not used here; one less way into the process.
control_socket_disable = True

# gunicorn's own lines as JSON on stdout too, like the application's. No access log: the
# application writes one line per request already (tasks.middleware), with its id and user.
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "tasks.logging.JSONFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}

# Prometheus metrics add up over all workers through files in one directory (prometheus_client's
# multiprocess mode). It must be set before any worker imports prometheus_client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="taskapi-metrics-")
    metrics_dir_is_ours = True
else:
    metrics_dir_is_ours = False


def on_starting(server):
    """Refuse to serve a broken configuration, in one line; start the metrics from zero."""
    from taskapi.startup import startup_errors

    errors = startup_errors(serving_production=True)
    if errors:
        raise RuntimeError(f"taskapi: configuration error: {'; '.join(errors)}")
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if metrics_dir_is_ours:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
