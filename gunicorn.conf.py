"""gunicorn's settings, read from the working directory by `gunicorn taskapi.wsgi`.

Every knob comes from the environment (see .env.example); the defaults suit a small container.
"""
import os

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
# gunicorn's runtime control socket is not used here; one less way into the process.
control_socket_disable = True

# gunicorn's own lines as JSON on stdout too, like the application's. The access line has the
# path without its query string, and the request id that tasks.middleware put on the response.
accesslog = "-"
access_log_format = "%(h)s %(m)s %(U)s %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "tasks.logging.JSONFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}
