"""JSON log lines on stdout: request ids, the request line, and no secrets ever."""

import io
import json
import logging

import pytest

from tasks.logging import JSONFormatter

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    """log_lines(): the JSON objects written by the configured stdout handler so far."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "stdout")
    buffer = io.StringIO()
    original = handler.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    handler.setStream(original)


def request_lines(lines):
    return [line for line in lines if line["logger"] == "tasks.middleware"]


def test_each_request_is_one_json_line_with_method_path_status_and_duration(api_client, log_lines):
    response = api_client.get("/health?verbose=1")
    [line] = request_lines(log_lines())
    assert line["message"] == "GET /health 200"
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/health", 200, "INFO")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == response["X-Request-ID"]
    assert "user_id" not in line
    assert line["time"].endswith("+00:00")


def test_a_valid_request_id_is_kept_and_echoed(api_client, log_lines):
    response = api_client.get("/health", HTTP_X_REQUEST_ID="edge-42.a_b")
    assert response["X-Request-ID"] == "edge-42.a_b"
    assert request_lines(log_lines())[0]["request_id"] == "edge-42.a_b"


@pytest.mark.parametrize("supplied", ["", "x" * 129, "has space", "new\nline", "semi;colon", "ünï"])
def test_an_unsafe_request_id_is_replaced_by_a_fresh_one(api_client, log_lines, supplied):
    response = api_client.get("/health", HTTP_X_REQUEST_ID=supplied)
    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"] != supplied
    assert request_lines(log_lines())[0]["request_id"] == response["X-Request-ID"]


def test_request_line_names_the_authenticated_user(auth_client, log_lines):
    auth_client("user-a").get("/api/tasks")
    assert request_lines(log_lines())[0]["user_id"] == "user-a"


def test_a_not_found_is_logged_once_as_the_request_line(auth_client, log_lines):
    auth_client("user-a").get("/api/tasks/999")
    assert [line["message"] for line in log_lines()] == ["GET /api/tasks/999 404"]


def test_an_authentication_failure_carries_its_reason_and_the_request_id(api_client, make_token, log_lines):
    expired = make_token("user-a", exp=1_000_000_000)
    api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {expired}", HTTP_X_REQUEST_ID="req-1")
    reason, request = log_lines()
    assert reason["logger"] == "tasks.authentication"
    assert reason["message"].startswith("token rejected: ") and "expired" in reason["message"]
    assert reason["request_id"] == request["request_id"] == "req-1"
    assert request["status"] == 401 and "user_id" not in request


def test_tokens_secrets_and_bodies_never_reach_the_logs(api_client, make_token, log_lines):
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    good = make_token("user-a")
    expired = make_token("user-a", exp=1_000_000_000)
    header, payload, signature = good.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    body = {"title": "body-secret-title", "description": "body-secret-description"}
    try:
        for token in (good, expired, forged):
            api_client.post("/api/tasks", body, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
        api_client.get("/api/tasks?cursor=query-secret", HTTP_AUTHORIZATION=f"Bearer {good}")
    finally:
        root.setLevel(level)
    output = json.dumps(log_lines())
    assert len(request_lines(log_lines())) == 4
    for secret in (
        good,
        expired,
        forged,
        signature,
        forged.rsplit(".", 1)[1],
        payload,
        "body-secret",
        "query-secret",
        "Bearer",
        "uthorization",
    ):
        assert secret not in output


def test_formatter_writes_only_known_fields_and_the_traceback():
    record = logging.makeLogRecord(
        {
            "name": "tasks.views",
            "levelname": "ERROR",
            "msg": "failed %s",
            "args": ("once",),
            "request": "<WSGIRequest with headers>",
            "status": 500,
        }
    )
    try:
        raise ValueError("boom")
    except ValueError as error:
        record.exc_info = (ValueError, error, error.__traceback__)
    entry = json.loads(JSONFormatter().format(record))
    assert set(entry) == {"time", "level", "logger", "message", "status", "exception"}
    assert entry["message"] == "failed once"
    assert "ValueError: boom" in entry["exception"]
