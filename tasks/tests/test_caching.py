"""Answers with a person's tasks are never stored by a cache, and never shared between tokens."""

import pytest

pytestmark = pytest.mark.django_db

OWNER = "user-a"

# (method, path, body, expected status); "{id}" is the owner's task.
ANSWERS = [
    pytest.param("get", "/api/tasks", None, 200, id="list"),
    pytest.param("get", "/api/tasks/", None, 200, id="list-slash"),
    pytest.param("get", f"/api/{OWNER}/tasks", None, 200, id="list-legacy-prefix"),
    pytest.param("post", "/api/tasks", {"title": "new"}, 201, id="create"),
    pytest.param("get", "/api/tasks/{id}", None, 200, id="retrieve"),
    pytest.param("put", "/api/tasks/{id}", {"title": "renamed"}, 200, id="update"),
    pytest.param("patch", "/api/tasks/{id}", {"title": "renamed"}, 200, id="partial-update"),
    pytest.param("patch", "/api/tasks/{id}/complete", None, 200, id="toggle"),
    pytest.param("delete", "/api/tasks/{id}", None, 204, id="delete"),
    pytest.param("get", "/api/tasks/stats", None, 200, id="stats"),
    pytest.param("post", "/api/tasks/bulk", {"complete": ["{id}"]}, 200, id="bulk"),
    pytest.param("get", "/api/tasks/999999", None, 404, id="missing-task"),
    pytest.param("get", "/api/tasks?limit=0", None, 400, id="bad-parameter"),
    pytest.param("post", "/api/tasks", {"title": ""}, 400, id="bad-body"),
    pytest.param("get", "/api/other-user/tasks", None, 403, id="other-users-prefix"),
    pytest.param("get", "/api/no-such-route", None, 404, id="unknown-route"),
]


def assert_private(response):
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
    assert "authorization" in {part.strip().lower() for part in response["Vary"].split(",")}


@pytest.mark.parametrize("method, path, body, expected", ANSWERS)
def test_api_answers_are_private_and_never_stored(auth_client, make_task, method, path, body, expected):
    task = make_task(OWNER)
    if body and "complete" in body:
        body = {"complete": [task.id]}
    response = getattr(auth_client(OWNER), method)(path.format(id=task.id), body, format="json")
    assert response.status_code == expected
    assert_private(response)


def test_unauthenticated_answers_are_private_too(api_client):
    response = api_client.get("/api/tasks")
    assert response.status_code == 401
    assert_private(response)


def test_a_304_is_private_too(auth_client, make_task):
    task = make_task(OWNER)
    response = auth_client(OWNER).get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH=f'"{task.version}"')
    assert response.status_code == 304
    assert_private(response)


def test_the_health_check_is_never_stored(api_client):
    response = api_client.get("/health")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_cors_vary_header_is_kept_beside_authorization(auth_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = auth_client(OWNER).get("/api/tasks", HTTP_ORIGIN="https://app.example.com")
    vary = {part.strip().lower() for part in response["Vary"].split(",")}
    assert {"origin", "authorization"} <= vary
    assert_private(response)


def test_admin_pages_keep_djangos_own_caching_rules(api_client):
    response = api_client.get("/admin/login/")
    assert "Authorization" not in response.get("Vary", "")
