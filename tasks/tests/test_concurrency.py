"""Concurrent requests against gunicorn on PostgreSQL: no lost toggle, create or mixed update."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tasks.models import Task

from .live import call

USER = "user-concurrent"
CLIENT_THREADS = 32


@pytest.fixture
def token(make_token):
    return make_token(USER)


def in_parallel(function, count):
    with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        return list(pool.map(function, range(count)))


def test_101_concurrent_toggles_leave_the_state_parity_predicts(gunicorn_server, token, make_task):
    task = make_task(USER)
    results = in_parallel(
        lambda _: call("PATCH", f"{gunicorn_server.url}/api/tasks/{task.id}/complete", token=token), 101
    )
    assert [status for status, _, _ in results] == [200] * 101
    task.refresh_from_db()
    assert task.completed is True  # false, flipped an odd number of times


def test_200_concurrent_creates_by_one_user_persist_exactly_once(gunicorn_server, token):
    results = in_parallel(
        lambda i: call("POST", f"{gunicorn_server.url}/api/tasks", token=token, body={"title": f"task {i}"}), 200
    )
    assert [status for status, _, _ in results] == [201] * 200
    ids = {body["id"] for _, _, body in results}
    assert len(ids) == 200
    rows = Task.objects.filter(user_id=USER)
    assert set(rows.values_list("id", flat=True)) == ids
    assert sorted(rows.values_list("title", flat=True)) == sorted(f"task {i}" for i in range(200))


def test_concurrent_puts_never_mix_two_requests_fields(gunicorn_server, token, make_task):
    task = make_task(USER, title="start", description="start")

    def put(i):
        body = {"title": f"title {i}", "description": f"description {i}", "completed": i % 2 == 0}
        return call("PUT", f"{gunicorn_server.url}/api/tasks/{task.id}", token=token, body=body)

    results = in_parallel(put, 60)
    assert [status for status, _, _ in results] == [200] * 60
    for _, _, body in results:
        number = body["title"].split()[1]
        assert (body["description"], body["completed"]) == (f"description {number}", int(number) % 2 == 0)
    task.refresh_from_db()
    number = task.title.split()[1]
    assert (task.description, task.completed) == (f"description {number}", int(number) % 2 == 0)
