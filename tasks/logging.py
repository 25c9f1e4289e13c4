"""Logs as one JSON object per line, each carrying the id of the request being served."""

import json
import logging
from contextvars import ContextVar
from datetime import datetime, timezone

# Set by tasks.middleware for as long as a request is being served.
current_request_id = ContextVar("current_request_id", default=None)

# The only attributes of a record written besides its message: an `extra` that carries anything
# else (Django's own log calls pass the whole request) never reaches the output.
EXTRA_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id (None outside a request)."""

    def filter(self, record):
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        return True


class JSONFormatter(logging.Formatter):
    """time, level, logger, message, the known extra fields and any traceback, as one JSON line."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            if getattr(record, name, None) is not None:
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
