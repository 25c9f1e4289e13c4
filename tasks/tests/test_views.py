"""The HTTP contract: every route, under both prefixes, with and without a trailing slash."""

import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.models import Task

pytestmark = pytest.mark.django_db

USER = "user-a"
PREFIXES = ["/api/tasks", f"/api/{USER}/tasks"]
SLASHES = ["", "/"]
# The core contract's fields; later fields (priority, due_at, tags, version) are additive.
TASK_KEYS = {"id", "user_id", "title", "description", "completed", "created_at", "updated_at"}


@pytest.fixture(params=PREFIXES, ids=["plain", "user-path"])
def prefix(request):
    return request.param


@pytest.fixture(params=SLASHES, ids=["no-slash", "slash"])
def slash(request):
    return request.param


def parse_utc(value):
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def test_list_returns_empty_array_when_user_has_no_tasks(user_client, prefix, slash):
    response = user_client.get(f"{prefix}{slash}")
    assert response.status_code == 200
    assert response.json() == []
    assert "Link" not in response


def test_list_returns_only_callers_tasks_newest_first(user_client, make_task, prefix, slash):
    older = make_task(USER, title="older")
    newer = make_task(USER, title="newer")
    make_task("user-b", title="not mine")
    response = user_client.get(f"{prefix}{slash}")
    assert response.status_code == 200
    assert [task["id"] for task in response.json()] == [newer.id, older.id]
    assert set(response.json()[0]) >= TASK_KEYS


def test_create_returns_201_task_and_location(user_client, prefix, slash):
    response = user_client.post(f"{prefix}{slash}", {"title": "  Buy milk  ", "description": "2 litres"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= TASK_KEYS
    assert body["title"] == "Buy milk"
    assert body["description"] == "2 litres"
    assert body["completed"] is False
    assert body["user_id"] == USER
    parse_utc(body["created_at"])
    parse_utc(body["updated_at"])
    assert response["Location"].endswith(f"{prefix}/{body['id']}")
    assert Task.objects.get(pk=body["id"]).user_id == USER


def test_create_ignores_read_only_fields(user_client):
    response = user_client.post(
        "/api/tasks",
        {"title": "t", "id": 999999, "user_id": "someone-else", "created_at": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 201
    task = Task.objects.get()
    assert task.user_id == USER
    assert task.id != 999999
    assert task.created_at.year != 2000


def test_create_stores_null_description_as_empty_string(user_client):
    response = user_client.post("/api/tasks", {"title": "t", "description": None}, format="json")
    assert response.status_code == 201
    assert response.json()["description"] == ""
    assert Task.objects.get().description == ""


def test_retrieve_returns_task(user_client, make_task, prefix, slash):
    task = make_task(USER, title="mine")
    response = user_client.get(f"{prefix}/{task.id}{slash}")
    assert response.status_code == 200
    assert response.json()["title"] == "mine"
    assert response.json()["id"] == task.id


def test_put_replaces_title_and_description(user_client, make_task, prefix, slash):
    task = make_task(USER, title="old", description="old text")
    response = user_client.put(f"{prefix}/{task.id}{slash}", {"title": "new", "description": "new text"}, format="json")
    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.title, task.description) == ("new", "new text")
    assert response.json()["title"] == "new"


def test_put_requires_title(user_client, make_task):
    task = make_task(USER, title="old")
    response = user_client.put(f"/api/tasks/{task.id}", {"description": "x"}, format="json")
    assert response.status_code == 400
    assert "title" in response.json()
    task.refresh_from_db()
    assert task.title == "old"


def test_patch_updates_only_given_fields(user_client, make_task, prefix, slash):
    task = make_task(USER, title="keep", description="old")
    response = user_client.patch(f"{prefix}/{task.id}{slash}", {"completed": True}, format="json")
    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.title, task.description, task.completed) == ("keep", "old", True)


def test_update_refreshes_updated_at(user_client, make_task):
    task = make_task(USER)
    before = task.updated_at
    response = user_client.patch(f"/api/tasks/{task.id}", {"title": "renamed"}, format="json")
    assert parse_utc(response.json()["updated_at"]) > before


def test_delete_returns_204_and_removes_task(user_client, make_task, prefix, slash):
    task = make_task(USER)
    response = user_client.delete(f"{prefix}/{task.id}{slash}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Task.objects.filter(pk=task.id).exists()


def test_complete_flips_completed_without_a_body(user_client, make_task, prefix, slash):
    task = make_task(USER)
    first = user_client.patch(f"{prefix}/{task.id}/complete{slash}")
    assert first.status_code == 200
    assert first.json()["completed"] is True
    second = user_client.patch(f"{prefix}/{task.id}/complete{slash}")
    assert second.json()["completed"] is False
    task.refresh_from_db()
    assert task.completed is False


def test_complete_refreshes_updated_at(user_client, make_task):
    task = make_task(USER)
    response = user_client.patch(f"/api/tasks/{task.id}/complete")
    assert parse_utc(response.json()["updated_at"]) > task.updated_at


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 123}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": None}, "title"),
        ({"title": "nul\x00byte"}, "title"),
        ({"title": "lone \ud800 surrogate"}, "title"),
        ({"title": "ok", "description": "d" * 1001}, "description"),
        ({"title": "ok", "description": "nul\x00"}, "description"),
        ({"title": "ok", "description": 5}, "description"),
        ({"title": "ok", "completed": "maybe"}, "completed"),
    ],
)
def test_create_rejects_invalid_fields_with_400_naming_the_field(user_client, body, field):
    # json.dumps spells a lone surrogate as an escape, as a real client would.
    response = user_client.post("/api/tasks", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Task.objects.exists()


def test_title_limit_counts_characters_not_bytes(user_client):
    title = "é" * 200
    response = user_client.post("/api/tasks", {"title": title}, format="json")
    assert response.status_code == 201
    assert Task.objects.get().title == title


def test_invalid_json_is_400(user_client):
    response = user_client.post("/api/tasks", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_json_array_body_is_400(user_client):
    response = user_client.post("/api/tasks", [{"title": "t"}], format="json")
    assert response.status_code == 400
    assert response.json()


def test_wrong_content_type_is_415(user_client):
    response = user_client.post("/api/tasks", "title=t", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "detail" in response.json()


def test_unsupported_method_is_405(user_client, make_task):
    task = make_task(USER)
    assert user_client.delete("/api/tasks").status_code == 405
    response = user_client.get(f"/api/tasks/{task.id}/complete")
    assert response.status_code == 405
    assert "detail" in response.json()


@pytest.mark.parametrize("path", ["/api/nope", "/api/tasks/abc", "/api/tasks/1/nope", "/api/"])
def test_unknown_api_url_is_json_404(user_client, path):
    response = user_client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.parametrize("method", ["get", "delete"])
@pytest.mark.parametrize("task_id", ["0", "-1", "99999999999999999999999", "9223372036854775808"])
def test_out_of_range_ids_are_404_not_500(user_client, method, task_id):
    response = getattr(user_client, method)(f"/api/tasks/{task_id}")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_missing_task_is_404(user_client):
    response = user_client.get("/api/tasks/424242")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Task matches the given query.", "code": "not_found"}


def test_post_to_slashless_url_is_not_redirected(user_client):
    response = user_client.post("/api/tasks", {"title": "t"}, format="json")
    assert response.status_code == 201
    assert Task.objects.count() == 1


def test_hand_built_task_json_is_what_drfs_fields_produce(make_task):
    from datetime import timezone as tz

    from rest_framework import serializers as drf

    from tasks.models import Priority
    from tasks.serializers import TaskSerializer

    tasks = [
        make_task(USER, title="plain"),
        make_task(
            USER,
            title="planned",
            priority=Priority.HIGH,
            tags=["A", "b"],
            due_at=datetime(2026, 12, 1, 23, 59, 59, tzinfo=tz.utc),
        ),
        make_task(USER, title="exact second", due_at=datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=tz.utc)),
    ]
    rows = {row["id"]: row for row in Task.objects.values(*TaskSerializer.Meta.fields)}
    for task in tasks:
        task.refresh_from_db()
        generic = drf.ModelSerializer.to_representation(TaskSerializer(), task)
        assert TaskSerializer(task).data == generic
        # Reads serialize rows of values instead of instances: the same JSON.
        assert TaskSerializer(rows[task.id]).data == generic


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"title": "  Buy milk ", "tags": [" a", "A", "b"], "due_at": "2026-12-01"}, id="valid"),
        pytest.param({"title": "", "tags": ["x" * 33], "priority": "urgent", "completed": "yes"}, id="invalid"),
        pytest.param({"title": "t", "tags": "work", "due_at": "2026-12-01T17:00:00"}, id="wrong-shapes"),
        pytest.param({"title": None, "description": None, "tags": None, "due_at": None}, id="nulls"),
    ],
)
def test_copied_fields_validate_as_drfs_rebuilt_fields(body):
    from rest_framework import serializers as drf

    from tasks.serializers import TaskSerializer

    rebuilt_class = type("Rebuilt", (TaskSerializer,), {"get_fields": drf.ModelSerializer.get_fields})
    copied, rebuilt = TaskSerializer(data=body), rebuilt_class(data=body)
    assert copied.is_valid() == rebuilt.is_valid()
    assert copied.errors == rebuilt.errors
    assert copied.validated_data == rebuilt.validated_data


FIELD_VALUES = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=40) | st.lists(st.text(max_size=40), max_size=25)
)


@settings(max_examples=150)
@given(
    body=st.dictionaries(
        st.sampled_from(["title", "description", "completed", "priority", "due_at", "tags", "id", "version"]),
        FIELD_VALUES | st.sampled_from(["low", "high", "2026-12-01", "2026-12-01T17:00:00Z"]),
    )
)
def test_copied_fields_validate_any_body_as_drfs_rebuilt_fields(body):
    test_copied_fields_validate_as_drfs_rebuilt_fields(body)


def test_drf_would_derive_no_validators_for_the_task_serializer():
    """TaskSerializer declares none (Meta.validators); this fails once the model gains a unique rule DRF would check."""
    from tasks.serializers import TaskSerializer

    serializer = TaskSerializer(data={})
    assert serializer.get_unique_together_validators() + serializer.get_unique_for_date_validators() == []


def test_each_serializer_binds_fields_of_its_own():
    from tasks.serializers import TaskSerializer

    first, second = TaskSerializer(data={}), TaskSerializer(data={})
    for name in TaskSerializer.Meta.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["tags"].child.parent is first.fields["tags"]
