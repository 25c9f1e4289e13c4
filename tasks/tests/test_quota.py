"""The per-user task quota: 409 `task_quota_exceeded` past API_MAX_TASKS_PER_USER, checked inside the INSERT."""

import json
import logging
import runpy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.models import Task
from tasks.quota import users_over_quota

from .live import Gunicorn, call, database_url, require_postgresql

pytestmark = pytest.mark.django_db

SETTINGS = str(Path(__file__).resolve().parents[2] / "taskapi" / "settings.py")
USER = "user-a"  # the user `user_client` acts as


@pytest.fixture
def quota_of_3(settings):
    settings.API_MAX_TASKS_PER_USER = 3
    return settings


def create(user_client, title="t", **headers):
    return user_client.post("/api/tasks", {"title": title}, format="json", **headers)


def test_create_past_the_quota_is_409_with_a_stable_code_and_writes_nothing(user_client, quota_of_3, make_task):
    assert [create(user_client, f"t{i}").status_code for i in range(3)] == [201, 201, 201]
    response = create(user_client, "one too many")
    assert response.status_code == 409
    assert response.json()["code"] == "task_quota_exceeded"
    assert Task.objects.filter(user_id=USER).count() == 3


def test_the_quota_is_per_user(user_client, quota_of_3, make_task):
    for number in range(3):
        make_task("someone-else", title=f"t{number}")
    assert create(user_client).status_code == 201


def test_deleting_a_task_makes_room_again(user_client, quota_of_3, make_task):
    tasks = [make_task(USER, title=f"t{i}") for i in range(3)]
    assert create(user_client).status_code == 409
    assert user_client.delete(f"/api/tasks/{tasks[0].id}").status_code == 204
    assert create(user_client).status_code == 201


def test_a_refused_idempotent_create_does_not_use_its_key_up(user_client, quota_of_3, make_task):
    tasks = [make_task(USER, title=f"t{i}") for i in range(3)]
    assert create(user_client, HTTP_IDEMPOTENCY_KEY="k1").status_code == 409
    tasks[0].delete()
    assert create(user_client, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201


def test_created_task_is_complete_in_the_answer_and_the_database(user_client, quota_of_3):
    body = user_client.post(
        "/api/tasks", {"title": "Buy milk", "tags": ["Home"], "priority": "high"}, format="json"
    ).json()
    task = Task.objects.get(pk=body["id"])
    assert (task.title, task.tags, task.tag_keys, task.priority, task.version) == (
        "Buy milk",
        ["Home"],
        {"home": True},
        3,
        1,
    )
    assert body["created_at"] and body["version"] == 1 and body["user_id"] == USER


def test_create_within_the_quota_is_one_statement(user_client, quota_of_3, django_assert_num_queries):
    user_client.get("/api/tasks")  # fetch the JWKS first
    with django_assert_num_queries(1) as captured:
        assert create(user_client).status_code == 201
    assert "count(" in captured.captured_queries[0]["sql"].lower()


@pytest.mark.parametrize("value", ["0", "off", "OFF"])
def test_zero_or_off_removes_the_quota(value, monkeypatch):
    monkeypatch.setenv("API_MAX_TASKS_PER_USER", value)
    assert runpy.run_path(SETTINGS)["API_MAX_TASKS_PER_USER"] is None


def test_the_default_quota_is_10000(monkeypatch):
    monkeypatch.delenv("API_MAX_TASKS_PER_USER", raising=False)
    assert runpy.run_path(SETTINGS)["API_MAX_TASKS_PER_USER"] == 10_000


def test_no_quota_creates_past_any_count(user_client, settings, make_task):
    settings.API_MAX_TASKS_PER_USER = None
    for number in range(5):
        make_task(USER, title=f"t{number}")
    assert create(user_client).status_code == 201


def test_an_imports_users_are_counted_in_one_query_on_postgresql(make_task):
    # 1,200 users: more than one batch of the 500 the check used to send (4.6 s for 20,000 users).
    make_task("user-0007", title="one")
    make_task("user-0007", title="two")
    added = {f"user-{n:04d}": 1 for n in range(1200)}
    with CaptureQueriesContext(connection) as queries:
        over = users_over_quota(Task.objects.all(), added, 2)
    assert over == {"user-0007": 3}
    limit = connection.features.max_query_params
    assert len(queries) == (1 if limit is None else -(-1200 // limit))


def write_rows(path, users):
    path.write_text("".join(json.dumps({"user_id": user, "title": "imported"}) + "\n" for user in users))
    return str(path)


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
def test_import_refuses_a_file_that_puts_a_user_over_the_quota(run_command, quota_of_3, make_task, tmp_path, dry_run):
    make_task(USER, title="already here")
    path = write_rows(tmp_path / "tasks.jsonl", [USER, USER, USER, "user-b"])
    code, _, err = run_command("import_tasks", path, *(["--dry-run"] if dry_run else []))
    assert code == 1
    assert "1 user(s) would be over API_MAX_TASKS_PER_USER=3: user-a (4); nothing imported" in err
    assert Task.objects.count() == 1


def test_import_up_to_the_quota_is_accepted(run_command, quota_of_3, make_task, tmp_path):
    make_task(USER, title="already here")
    path = write_rows(tmp_path / "tasks.jsonl", [USER, USER, "user-b", "user-b", "user-b"])
    code, out, _ = run_command("import_tasks", path)
    assert (code, out.strip()) == (0, "imported 5 task(s)")
    assert Task.objects.filter(user_id=USER).count() == 3


def test_parallel_creates_at_the_boundary_exceed_the_quota_by_less_than_the_requests_in_flight(
    transactional_db, jwks_server, make_token, make_task
):
    require_postgresql()
    quota, workers, threads = 10, 2, 4
    for number in range(quota - 2):
        make_task(USER, title=f"t{number}")
    env = {
        "DATABASE_URL": database_url(),
        "BETTER_AUTH_URL": jwks_server.origin,
        "API_USER_THROTTLE_RATE": "off",
        "API_MAX_TASKS_PER_USER": str(quota),
    }
    token = make_token(USER)
    with Gunicorn(env, workers=workers, threads=threads) as server, ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(lambda i: call("POST", f"{server.url}/api/tasks", token=token, body={"title": f"p{i}"}), range(40))
        )
    statuses = [status for status, _, _ in results]
    assert set(statuses) == {201, 409}
    stored = Task.objects.filter(user_id=USER).count()
    assert stored == quota - 2 + statuses.count(201)
    logging.getLogger(__name__).info("40 parallel creates, 2 short of a quota of %d: %d stored", quota, stored)
    assert quota <= stored <= quota + workers * threads - 1
