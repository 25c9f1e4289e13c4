"""Idempotent creates (retries never duplicate) and all-or-nothing bulk operations."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tasks.models import IdempotencyKey, Task

from .live import Gunicorn, call, database_url, require_postgresql

pytestmark = pytest.mark.django_db

USER = "user-a"


@pytest.fixture
def client(auth_client):
    return auth_client(USER)


def create(client, body, key="key-1"):
    return client.post("/api/tasks", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


# --- Idempotency-Key ------------------------------------------------------------------------

def test_a_retry_with_the_same_key_and_body_replays_the_original_201(client):
    first = create(client, {"title": "once"})
    second = create(client, {"title": "once"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Location"] == first["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert Task.objects.count() == 1


def test_the_same_key_with_another_body_is_422(client):
    create(client, {"title": "once"})
    response = create(client, {"title": "different"})
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Task.objects.count() == 1


def test_keys_are_per_user(auth_client):
    create(auth_client(USER), {"title": "a's"})
    response = create(auth_client("user-b"), {"title": "b's"})
    assert response.status_code == 201
    assert sorted(Task.objects.values_list("user_id", flat=True)) == [USER, "user-b"]


def test_a_request_that_fails_validation_does_not_use_up_the_key(client):
    assert create(client, {"title": ""}).status_code == 400
    assert create(client, {"title": "fixed"}).status_code == 201
    assert IdempotencyKey.objects.count() == 1


def test_keys_expire_after_24_hours_on_read(client):
    create(client, {"title": "old"})
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    response = create(client, {"title": "new"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Task.objects.count() == 2


def test_purge_command_removes_only_expired_keys(client):
    create(client, {"title": "old"}, key="old")
    create(client, {"title": "fresh"}, key="fresh")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    call_command("purge_idempotency_keys")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\there", "é"])
def test_malformed_keys_are_400(client, key):
    response = create(client, {"title": "t"}, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Task.objects.exists()


def test_without_a_key_creates_are_not_deduplicated(client):
    client.post("/api/tasks", {"title": "same"}, format="json")
    client.post("/api/tasks", {"title": "same"}, format="json")
    assert Task.objects.count() == 2


def test_concurrent_duplicates_create_one_task(transactional_db, jwks_server, make_token):
    require_postgresql()
    token = make_token(USER)
    env = {"DATABASE_URL": database_url(), "BETTER_AUTH_URL": jwks_server.origin, "API_USER_THROTTLE_RATE": "off"}
    with Gunicorn(env, workers=2, threads=8) as server:
        def post(key):
            return call("POST", f"{server.url}/api/tasks", token=token, body={"title": f"task {key}"},
                        headers={"Idempotency-Key": f"key-{key}"})

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
def test_bulk_complete_and_reopen(client, three, prefix):
    ids = [task.id for task in three]
    response = client.post(f"{prefix}/bulk", {"complete": ids}, format="json")
    assert response.json() == {"action": "complete", "count": 3}
    assert set(Task.objects.values_list("completed", flat=True)) == {True}
    assert set(Task.objects.values_list("version", flat=True)) == {2}
    response = client.post(f"{prefix}/bulk/", {"reopen": ids[:2]}, format="json")
    assert response.json() == {"action": "reopen", "count": 2}
    assert sorted(Task.objects.values_list("completed", flat=True)) == [False, False, True]


def test_bulk_delete(client, three):
    response = client.post("/api/tasks/bulk", {"delete": [three[0].id, three[1].id, three[0].id]}, format="json")
    assert response.json() == {"action": "delete", "count": 2}
    assert list(Task.objects.values_list("id", flat=True)) == [three[2].id]


@pytest.mark.parametrize("action", ["complete", "reopen", "delete"])
def test_another_users_id_fails_the_whole_request_and_changes_nothing(client, three, make_task, action):
    foreign = make_task("user-b", title="not yours", completed=True)
    before = list(Task.objects.order_by("id").values_list("id", "completed", "version"))
    response = client.post("/api/tasks/bulk", {action: [three[0].id, foreign.id]}, format="json")
    assert response.status_code == 404
    assert list(Task.objects.order_by("id").values_list("id", "completed", "version")) == before


def test_a_missing_id_fails_the_whole_request(client, three):
    response = client.post("/api/tasks/bulk", {"delete": [three[0].id, 10**12]}, format="json")
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
def test_invalid_bulk_requests_are_400_and_change_nothing(client, three, body):
    response = client.post("/api/tasks/bulk", body, format="json")
    assert response.status_code == 400
    assert response.json()
    assert Task.objects.filter(completed=False).count() == 3


def test_bulk_accepts_500_ids(client, make_task):
    ids = [task.id for task in Task.objects.bulk_create(Task(user_id=USER, title=f"t{i}") for i in range(500))]
    response = client.post("/api/tasks/bulk", {"complete": ids}, format="json")
    assert response.json() == {"action": "complete", "count": 500}
    assert not Task.objects.filter(completed=False).exists()
