"""Sentry reports (real sentry-sdk, a local transport): errors arrive, tokens never do."""

import json
import os
import subprocess
import sys

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from tasks.error_reporting import redact, start_error_reporting
from tasks.views import TaskViewSet

from .live import PROJECT_DIR, call

pytestmark = pytest.mark.django_db(transaction=True)


class LocalTransport(Transport):
    """Keeps every envelope sentry-sdk would send, as the JSON text that would go over the wire."""

    def __init__(self, options=None):
        super().__init__(options)
        self.sent = []

    def capture_envelope(self, envelope):
        self.sent.extend(item.get_bytes().decode() for item in envelope.items)


@pytest.fixture
def sentry():
    transport = LocalTransport()
    start_error_reporting("https://public@sentry.invalid/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: reporting off again for the rest of the suite


@pytest.fixture
def failing_list(monkeypatch, make_token):
    """The list view fails with a message carrying the caller's token, as a careless bug might."""
    token = make_token("user-a")

    def fail(self, request, *args, **kwargs):
        raise RuntimeError(f"could not list for {request.headers['Authorization']} ({token})")

    monkeypatch.setattr(TaskViewSet, "list", fail)
    return token


def test_an_error_is_reported_without_the_token_or_authorization_header(live_server, sentry, failing_list):
    """Through a real WSGI server in this process, where sentry-sdk sees the request's headers."""
    status, _, body = call(
        "GET",
        f"{live_server.url}/api/tasks?page=1",
        token=failing_list,
        headers={"Cookie": "sessionid=abc123secret", "X-Trace": "kept"},
    )
    sentry_sdk.flush()
    assert (status, body["code"]) == (500, "server_error")
    events = [json.loads(item) for item in sentry.sent if '"exception"' in item]
    assert events, "the error was not reported"
    event = events[0]
    assert "RuntimeError" in json.dumps(event["exception"])
    assert event["request"]["url"].endswith("/api/tasks")
    assert event["request"]["headers"]["X-Trace"] == "kept"
    everything_sent = "\n".join(sentry.sent)
    for secret in (failing_list, *failing_list.split("."), "abc123secret"):
        assert secret not in everything_sent


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Bearer abc.def.ghi", id="bearer-header"),
        pytest.param("bearer\tsomething-opaque", id="lowercase-bearer"),
        pytest.param("token eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1In0.c2ln was refused", id="bare-jwt"),
        pytest.param("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.", id="unsigned-jwt"),
    ],
)
def test_credentials_are_redacted_anywhere_in_an_event(text):
    event = {"message": text, "extra": {"nested": [text, {"deeper": text}]}}
    redacted = json.dumps(redact(event))
    assert "[redacted]" in redacted
    assert "eyJ" not in redacted and "abc.def" not in redacted and "something-opaque" not in redacted


@pytest.mark.parametrize(
    "dsn, active",
    [pytest.param("", "False", id="off"), pytest.param("https://public@sentry.invalid/1", "True", id="on")],
)
def test_reporting_starts_only_with_a_dsn(dsn, active):
    """Settings start sentry-sdk when SENTRY_DSN is set (a fresh process: the SDK is process-wide)."""
    program = "import django, sentry_sdk; django.setup(); print(sentry_sdk.get_client().is_active())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskapi.settings", "SENTRY_DSN": dsn}
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == active
