"""Error reports to Sentry (when SENTRY_DSN is set), with every bearer token taken out first.

sentry-sdk scrubs values by name from its denylist (`authorization`, `cookie`, `token`, ...) and
redact_event blanks those headers again; a token can also travel inside an exception message, a
log line or a breadcrumb, so every string of the event is searched for the shape of a JWT or a
bearer credential as well.
"""

import re

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

REDACTED = "[redacted]"
# A JWS in compact form (header.payload.signature; the header always starts with `{"` = eyJ),
# and whatever follows "Bearer " in a header value that ended up in a message.
CREDENTIAL = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|(?i:bearer)\s+\S+")
SENSITIVE_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-api-key"}


def start_error_reporting(dsn, *, environment, **options):
    """Report unhandled errors and ERROR log records; no personal data, no tokens, no traces."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        # No user identity, request bodies or frame locals (a local may hold a token).
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        before_send=redact_event,
        before_breadcrumb=redact_breadcrumb,
        traces_sample_rate=0,
        **options,
    )


def redact_event(event, hint):
    headers = event.get("request", {}).get("headers")
    if isinstance(headers, dict):
        for name in list(headers):
            if name.lower() in SENSITIVE_HEADERS:
                headers[name] = REDACTED
    return redact(event)


def redact_breadcrumb(crumb, hint):
    return redact(crumb)


def redact(value):
    """The same structure with every credential-shaped substring replaced."""
    if isinstance(value, str):
        return CREDENTIAL.sub(REDACTED, value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return value
