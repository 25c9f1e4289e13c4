"""Hostile or broken bodies: always a clear 4xx JSON answer, never a 500, nothing stored."""

import json

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db


def post_raw(user_client, body, content_type="application/json"):
    return user_client.generic("POST", "/api/tasks", body, content_type=content_type)


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "\xff\xfe broken"}',
        b'{"title": "\xc3\x28"}',
        b'{"title": "\xed\xa0\x80"}',
        b"\xef\xbb\xbf\xff",
    ],
    ids=["invalid-start-byte", "bad-continuation", "utf8-encoded-surrogate", "bom-then-garbage"],
)
def test_invalid_utf8_is_400(user_client, body):
    response = post_raw(user_client, body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert not Task.objects.exists()


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_400(user_client, depth):
    response = post_raw(user_client, "[" * depth + "]" * depth)
    assert response.status_code == 400
    assert response.json()


def test_deeply_nested_value_inside_an_object_is_400(user_client):
    response = post_raw(user_client, '{"title": ' + "[" * 50_000 + "]" * 50_000 + "}")
    assert response.status_code == 400


@pytest.mark.parametrize("size", [300 * 1024, 10 * 1024 * 1024], ids=["300KB", "10MB"])
def test_oversized_body_is_413_before_it_is_parsed(user_client, size):
    body = json.dumps({"title": "x", "description": "d" * size})
    response = post_raw(user_client, body)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body is too large.", "code": "request_too_large"}
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", ""],
)
def test_bodies_that_are_not_json_are_415(user_client, content_type):
    response = post_raw(user_client, '{"title": "t"}', content_type=content_type)
    assert response.status_code == 415
    assert "detail" in response.json()
    assert not Task.objects.exists()


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"title"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_400(user_client, body):
    response = post_raw(user_client, body)
    assert response.status_code == 400
    assert response.json()


@pytest.mark.parametrize("body", ["", "{", '{"title": "t",}', "{'title': 't'}", '{"title": NaN}'])
def test_malformed_json_is_400(user_client, body):
    response = post_raw(user_client, body)
    assert response.status_code == 400
    assert not Task.objects.exists()


def test_unknown_fields_are_ignored(user_client):
    response = user_client.post(
        "/api/tasks", {"title": "t", "colour": "x", "owner": "someone", "nested": {"a": 1}}, format="json"
    )
    assert response.status_code == 201
    assert "owner" not in response.json()


@pytest.mark.parametrize(
    "title",
    ["😀" * 200, "e\u0301" * 100, "字" * 200, "a" * 199 + "😀"],
    ids=["astral-emoji", "combining-marks", "cjk", "ascii-then-emoji"],
)
def test_unicode_title_of_exactly_200_characters_is_accepted(user_client, title):
    assert len(title) == 200
    response = user_client.post("/api/tasks", {"title": title}, format="json")
    assert response.status_code == 201
    assert Task.objects.get().title == title


def test_unicode_title_of_201_characters_is_400(user_client):
    response = user_client.post("/api/tasks", {"title": "😀" * 201}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()


@pytest.mark.parametrize("value", [1, 1.5, True, [], {}])
def test_numbers_and_structures_where_strings_belong_are_400(user_client, value):
    response = user_client.post("/api/tasks", {"title": value}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()


def test_nul_in_update_is_400_and_the_row_is_unchanged(user_client, make_task):
    task = make_task("user-a", title="clean")
    response = user_client.patch(f"/api/tasks/{task.id}", {"title": "bad\u0000"}, format="json")
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.title == "clean"


@pytest.mark.parametrize("path", ["/api/tasks", "/health"])
def test_a_host_not_allowed_is_a_json_400(auth_client, path):
    response = auth_client("user-a").get(path, HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}
