"""Every error under /api/ is JSON with `detail` and a stable `code`, whatever produced it."""

import json

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def body_of(response):
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


ERROR_CASES = [
    pytest.param("get", "/api/tasks", {}, {"HTTP_AUTHORIZATION": None}, 401, "not_authenticated", id="no-token"),
    pytest.param(
        "get", "/api/tasks", {}, {"HTTP_AUTHORIZATION": "Bearer x"}, 401, "bad_authorization_header", id="bad-header"
    ),
    pytest.param("get", "/api/someone-else/tasks", {}, {}, 403, "user_mismatch", id="other-user-path"),
    pytest.param("get", "/api/tasks/999999", {}, {}, 404, "not_found", id="missing-task"),
    pytest.param("get", "/api/nowhere", {}, {}, 404, "not_found", id="unknown-route"),
    pytest.param("post", "/api/tasks/stats", {}, {}, 405, "method_not_allowed", id="wrong-method"),
    pytest.param("get", "/api/tasks", {}, {"HTTP_ACCEPT": "text/html"}, 406, "not_acceptable", id="html-only"),
    pytest.param(
        "post",
        "/api/tasks",
        {"data": "title=x", "content_type": "text/plain"},
        {},
        415,
        "unsupported_media_type",
        id="not-json",
    ),
    pytest.param(
        "post", "/api/tasks", {"data": "{", "content_type": "application/json"}, {}, 400, "parse_error", id="bad-json"
    ),
    pytest.param("get", "/api/tasks?ordering=owner", {}, {}, 400, "invalid", id="bad-ordering"),
    pytest.param(
        "post",
        "/api/tasks/bulk",
        {"data": "{}", "content_type": "application/json"},
        {},
        400,
        "invalid",
        id="bulk-no-action",
    ),
]


@pytest.mark.parametrize("method, path, request_kwargs, headers, status, code", ERROR_CASES)
def test_every_error_has_detail_and_a_stable_code(
    api_client, make_token, method, path, request_kwargs, headers, status, code
):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {make_token('user-a')}", **headers}
    headers = {name: value for name, value in headers.items() if value is not None}
    response = getattr(api_client, method)(path, **request_kwargs, **headers)
    assert response.status_code == status
    body = body_of(response)
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_field_error_keeps_its_field_key_and_shares_its_code(auth_client):
    response = auth_client("user-a").post("/api/tasks", {"title": "  "}, format="json")
    assert response.status_code == 400
    assert body_of(response) == {"detail": "Invalid input.", "code": "blank", "title": ["This field may not be blank."]}


def test_errors_of_several_kinds_share_the_code_invalid(auth_client):
    response = auth_client("user-a").post("/api/tasks", {"title": "", "priority": "urgent"}, format="json")
    body = body_of(response)
    assert (response.status_code, body["code"]) == (400, "invalid")
    assert set(body) == {"detail", "code", "title", "priority"}


def test_a_stale_if_match_is_the_current_task_with_detail_and_code(auth_client, make_task):
    task = make_task("user-a", title="Now")
    response = auth_client("user-a").patch(f"/api/tasks/{task.id}", {"title": "x"}, format="json", HTTP_IF_MATCH='"9"')
    assert response.status_code == 412
    body = body_of(response)
    assert body["code"] == "precondition_failed" and body["detail"]
    assert (body["id"], body["title"], body["version"]) == (task.id, "Now", 1)
    assert response["ETag"] == '"1"'


def test_throttled_is_429_with_its_code_and_retry_after(auth_client, settings):
    settings.API_USER_THROTTLE_RATE = "1/minute"
    client = auth_client("user-throttled-errors")
    client.get("/api/tasks/stats")
    response = client.get("/api/tasks/stats")
    assert response.status_code == 429
    assert body_of(response)["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


@override_settings(ALLOWED_HOSTS=["api.example.com"])
def test_a_host_not_served_is_400_bad_request(api_client):
    response = api_client.get("/api/tasks", HTTP_HOST="evil.example.com")
    assert (response.status_code, body_of(response)["code"]) == (400, "bad_request")
