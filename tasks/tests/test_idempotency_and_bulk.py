"""Idempotent creates (retries never duplicate) and all-or-nothing bulk operations."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tasks.models import IdempotencyKey, Task

from .live import call

pytestmark = pytest.mark.django_db

USER = "user-a"


def create(user_client, body, key="key-1"):
    return user_client.post("/api/tasks", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


# --- Idempotency-Key ------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_replays_the_original_201(user_client):
    first = create(user_client, {"title": "once"})
    second = create(user_client, {"title": "once"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert Task.objects.count() == 1


def test_a_replay_lists_the_fields_in_the_order_of_the_original_answer(user_client):
    """PostgreSQL's jsonb stores the answer with its keys sorted; the replay puts them back."""
    first = create(user_client, {"title": "once", "tags": ["a"]})
    second = create(user_client, {"title": "once", "tags": ["a"]})
    assert second.content == first.content
    assert list(second.json()) == [
        "id",
        "user_id",
        "title",
        "description",
        "completed",
        "priority",
        "due_at",
        "tags",
        "version",
        "created_at",
        "updated_at",
    ]


def test_the_same_key_with_another_body_is_422(user_client):
    create(user_client, {"title": "once"})
    response = create(user_client, {"title": "different"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Task.objects.count() == 1


def test_keys_are_per_user(auth_client):
    create(auth_client(USER), {"title": "a's"})
    response = create(auth_client("user-b"), {"title": "b's"})
    assert response.status_code == 201
    assert sorted(Task.objects.values_list("user_id", flat=True)) == [USER, "user-b"]


def test_a_request_that_fails_validation_does_not_use_up_the_key(user_client):
    assert create(user_client, {"title": ""}).status_code == 400
    assert create(user_client, {"title": "fixed"}).status_code == 201
    assert IdempotencyKey.objects.count() == 1


def test_keys_expire_after_24_hours_on_read(user_client):
    create(user_client, {"title": "old"})
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = create(user_client, {"title": "new"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Task.objects.count() == 2


def test_purge_command_removes_only_expired_keys(user_client):
    create(user_client, {"title": "old"}, key="old")
    create(user_client, {"title": "fresh"}, key="fresh")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    call_command("purge_idempotency_keys")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\there", "é"])
def test_malformed_keys_are_400(user_client, key):
    response = create(user_client, {"title": "t"}, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Task.objects.exists()


def test_without_a_key_creates_are_not_deduplicated(user_client):
    user_client.post("/api/tasks", {"title": "same"}, format="json")
    user_client.post("/api/tasks", {"title": "same"}, format="json")
    assert Task.objects.count() == 2


def test_concurrent_duplicates_create_one_task(gunicorn_server, make_token):
    token = make_token(USER)

    def post(key):
        return call(
            "POST",
            f"{gunicorn_server.url}/api/tasks",
            token=token,
            body={"title": f"task {key}"},
            headers={"Idempotency-Key": f"key-{key}"},
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(post, [n for n in range(8) for _ in range(4)]))
    assert [status for status, _, _ in results] == [201] * 32
    ids_by_key = {}
    for _, _, body in results:
        ids_by_key.setdefault(body["title"], set()).add(body["id"])
    assert all(len(ids) == 1 for ids in ids_by_key.values())
    assert Task.objects.filter(user_id=USER).count() == 8


# --- bulk -----------------------------------------------------------------------------------


@pytest.fixture
def three(make_task):
    return [make_task(USER, title=f"t{i}") for i in range(3)]


@pytest.mark.parametrize("prefix", ["/api/tasks", f"/api/{USER}/tasks"])
def test_bulk_complete_and_reopen(user_client, three, prefix):
    ids = [task.id for task in three]
    response = user_client.post(f"{prefix}/bulk", {"complete": ids}, format="json")
    assert response.json() == {"action": "complete", "count": 3}
    assert set(Task.objects.values_list("completed", flat=True)) == {True}
    assert set(Task.objects.values_list("version", flat=True)) == {2}
    response = user_client.post(f"{prefix}/bulk/", {"reopen": ids[:2]}, format="json")
    assert response.json() == {"action": "reopen", "count": 2}
    assert sorted(Task.objects.values_list("completed", flat=True)) == [False, False, True]


def test_bulk_delete(user_client, three):
    response = user_client.post("/api/tasks/bulk", {"delete": [three[0].id, three[1].id, three[0].id]}, format="json")
    assert response.json() == {"action": "delete", "count": 2}
    assert list(Task.objects.values_list("id", flat=True)) == [three[2].id]


@pytest.mark.parametrize("action", ["complete", "reopen", "delete"])
def test_another_users_id_fails_the_whole_request_and_changes_nothing(user_client, three, make_task, action):
    foreign = make_task("user-b", title="not yours", completed=True)
    before = list(Task.objects.order_by("id").values_list("id", "completed", "version"))
    response = user_client.post("/api/tasks/bulk", {action: [three[0].id, foreign.id]}, format="json")
    assert response.status_code == 404
    assert list(Task.objects.order_by("id").values_list("id", "completed", "version")) == before


def test_a_missing_id_fails_the_whole_request(user_client, three):
    response = user_client.post("/api/tasks/bulk", {"delete": [three[0].id, 10**12]}, format="json")
    assert response.status_code == 404
    assert Task.objects.count() == 3


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"complete": []},
        {"complete": [1], "delete": [2]},
        {"complete": list(range(1, 502))},
        {"complete": ["one"]},
        {"complete": [0]},
        {"complete": [2**63]},
        {"complete": 5},
        {"archive": [1]},
    ],
    ids=["nothing", "empty", "two-actions", "501-ids", "not-ints", "zero", "beyond-bigint", "not-a-list", "unknown"],
)
def test_invalid_bulk_requests_are_400_and_change_nothing(user_client, three, body):
    response = user_client.post("/api/tasks/bulk", body, format="json")
    assert response.status_code == 400
    assert response.json()
    assert Task.objects.filter(completed=False).count() == 3


def test_bulk_accepts_500_ids(user_client, make_task):
    ids = [task.id for task in Task.objects.bulk_create(Task(user_id=USER, title=f"t{i}") for i in range(500))]
    response = user_client.post("/api/tasks/bulk", {"complete": ids}, format="json")
    assert response.json() == {"action": "complete", "count": 500}
    assert not Task.objects.filter(completed=False).exists()
