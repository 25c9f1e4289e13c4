"""ETags and conditional requests: no edit is lost to another tab's."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tasks.models import Task

from .live import call

pytestmark = pytest.mark.django_db

USER = "user-a"


@pytest.fixture
def task(make_task):
    return make_task(USER, title="original", description="text")


def test_responses_carry_the_version_as_etag(user_client, task):
    response = user_client.get(f"/api/tasks/{task.id}")
    assert response["ETag"] == '"1"'
    assert response.json()["version"] == 1
    created = user_client.post("/api/tasks", {"title": "t"}, format="json")
    assert created["ETag"] == '"1"'


@pytest.mark.parametrize(
    "method, path, body",
    [("put", "", {"title": "x"}), ("patch", "", {"title": "x"}), ("patch", "/complete", None)],
)
def test_every_write_bumps_the_version(user_client, task, method, path, body):
    response = getattr(user_client, method)(f"/api/tasks/{task.id}{path}", body, format="json")
    assert response["ETag"] == '"2"'
    task.refresh_from_db()
    assert task.version == 2


def test_if_none_match_with_the_current_etag_is_304(user_client, task):
    response = user_client.get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == '"1"'
    assert user_client.get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH='W/"1"').status_code == 304
    assert user_client.get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH='"0", "7"').status_code == 200


def test_if_none_match_after_a_change_is_200(user_client, task):
    user_client.patch(f"/api/tasks/{task.id}", {"title": "changed"}, format="json")
    response = user_client.get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 200
    assert response.json()["title"] == "changed"


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("put", "", {"title": "mine", "description": "mine"}),
        ("patch", "", {"title": "mine"}),
        ("delete", "", None),
        ("patch", "/complete", None),
    ],
)
def test_stale_if_match_is_412_with_the_current_task_and_writes_nothing(user_client, task, method, path, body):
    user_client.patch(f"/api/tasks/{task.id}", {"title": "theirs"}, format="json")  # now version 2
    response = getattr(user_client, method)(f"/api/tasks/{task.id}{path}", body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert response.json()["title"] == "theirs"
    assert response.json()["version"] == 2
    assert response["ETag"] == '"2"'
    task.refresh_from_db()
    assert (task.title, task.completed, task.version) == ("theirs", False, 2)


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("put", "", {"title": "mine", "description": ""}, 200),
        ("patch", "", {"title": "mine"}, 200),
        ("patch", "/complete", None, 200),
        ("delete", "", None, 204),
    ],
)
def test_current_if_match_lets_the_write_through(user_client, task, method, path, body, status):
    response = getattr(user_client, method)(f"/api/tasks/{task.id}{path}", body, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == status
    assert Task.objects.filter(pk=task.id, version=2).exists() == (status == 200)


def test_if_match_star_and_lists_follow_rfc_9110(user_client, task):
    assert (
        user_client.patch(f"/api/tasks/{task.id}", {"title": "a"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    )
    assert (
        user_client.patch(f"/api/tasks/{task.id}", {"title": "b"}, format="json", HTTP_IF_MATCH='"9", "2"').status_code
        == 200
    )
    # If-Match compares strongly: a weak validator never matches.
    assert (
        user_client.patch(f"/api/tasks/{task.id}", {"title": "c"}, format="json", HTTP_IF_MATCH='W/"3"').status_code
        == 412
    )


def test_if_match_on_a_missing_task_is_404_not_412(user_client):
    assert user_client.patch("/api/tasks/999999/complete", HTTP_IF_MATCH='"1"').status_code == 404
    assert user_client.delete("/api/tasks/999999", HTTP_IF_MATCH='"1"').status_code == 404


def test_two_tabs_editing_one_task_one_wins_the_other_gets_412(auth_client, task):
    tab_one, tab_two = auth_client(USER), auth_client(USER)
    etag = tab_one.get(f"/api/tasks/{task.id}")["ETag"]
    assert tab_two.get(f"/api/tasks/{task.id}")["ETag"] == etag
    first = tab_one.put(f"/api/tasks/{task.id}", {"title": "tab one"}, format="json", HTTP_IF_MATCH=etag)
    second = tab_two.put(f"/api/tasks/{task.id}", {"title": "tab two"}, format="json", HTTP_IF_MATCH=etag)
    assert (first.status_code, second.status_code) == (200, 412)
    assert second.json()["title"] == "tab one"
    task.refresh_from_db()
    assert task.title == "tab one"


def test_concurrent_conditional_writes_through_gunicorn_exactly_one_wins(gunicorn_server, make_token, make_task):
    task = make_task(USER, title="start")
    token = make_token(USER)

    def put(i):
        return call(
            "PUT",
            f"{gunicorn_server.url}/api/tasks/{task.id}",
            token=token,
            body={"title": f"writer {i}"},
            headers={"If-Match": '"1"'},
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(put, range(16)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] + [412] * 15
    winner = next(body for status, _, body in results if status == 200)
    task.refresh_from_db()
    assert (task.title, task.version) == (winner["title"], 2)
    assert all(body["title"] == winner["title"] for status, _, body in results if status == 412)
