"""Object-level authorization: nobody reaches another person's task by any route."""

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db

OWNER, OTHER = "user-a", "user-b"

ROUTES = [
    ("get", "{prefix}/{id}", None),
    ("put", "{prefix}/{id}", {"title": "hijacked", "description": "x"}),
    ("patch", "{prefix}/{id}", {"title": "hijacked"}),
    ("delete", "{prefix}/{id}", None),
    ("patch", "{prefix}/{id}/complete", None),
]


def snapshot(task):
    task.refresh_from_db()
    return (task.user_id, task.title, task.description, task.completed, task.updated_at)


@pytest.mark.parametrize("method, path, body", ROUTES)
@pytest.mark.parametrize("slash", ["", "/"])
def test_other_user_gets_404_identical_to_missing_and_task_is_unchanged(
    auth_client, make_task, method, path, body, slash
):
    task = make_task(OWNER, title="private", description="secret")
    before = snapshot(task)
    client = auth_client(OTHER)
    for prefix in ("/api/tasks", f"/api/{OTHER}/tasks"):
        response = getattr(client, method)(path.format(prefix=prefix, id=task.id) + slash, body, format="json")
        missing = getattr(client, method)(path.format(prefix=prefix, id=task.id + 1000) + slash, body, format="json")
        assert response.status_code == 404
        assert response.content == missing.content
    assert snapshot(task) == before


def test_other_users_tasks_are_not_listed(auth_client, make_task):
    make_task(OWNER, title="private")
    for path in ("/api/tasks", f"/api/{OTHER}/tasks"):
        response = auth_client(OTHER).get(path)
        assert response.status_code == 200
        assert response.json() == []


@pytest.mark.parametrize(
    "method, path, body",
    [("get", "", None), ("post", "", {"title": "planted"})] + [(m, p.replace("{prefix}", ""), b) for m, p, b in ROUTES],
)
def test_path_user_id_other_than_caller_is_403_before_any_lookup(auth_client, make_task, method, path, body):
    task = make_task(OWNER, title="private")
    before = snapshot(task)
    url = f"/api/{OWNER}/tasks" + path.format(id=task.id)
    response = getattr(auth_client(OTHER), method)(url, body, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "You can only access your own tasks.", "code": "user_mismatch"}
    assert snapshot(task) == before
    assert Task.objects.count() == 1
    # The same for an id that does not exist: 403 tells nothing about existence.
    response = getattr(auth_client(OTHER), method)(f"/api/{OWNER}/tasks" + path.format(id=999999), body, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("method, path, body", [("get", "", None), ("post", "", {"title": "t"})] + ROUTES)
def test_no_token_is_401_on_every_route(api_client, make_task, method, path, body):
    task = make_task(OWNER)
    for prefix in ("/api/tasks", f"/api/{OWNER}/tasks"):
        url = path.format(prefix=prefix, id=task.id) if path else prefix
        response = getattr(api_client, method)(url, body, format="json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert Task.objects.count() == 1


def test_created_task_belongs_to_caller_even_on_user_path(auth_client):
    response = auth_client(OTHER).post(f"/api/{OTHER}/tasks", {"title": "t", "user_id": OWNER}, format="json")
    assert response.status_code == 201
    assert Task.objects.get().user_id == OTHER


@pytest.mark.parametrize(
    "task_id", ["0", "-1", "18446744073709551616", "99999999999999999999999999", "abc", "1e3", "%20"]
)
@pytest.mark.parametrize("method, path, body", ROUTES)
def test_odd_ids_are_404_never_500_on_every_route(auth_client, method, path, body, task_id):
    for prefix in ("/api/tasks", f"/api/{OWNER}/tasks"):
        response = getattr(auth_client(OWNER), method)(path.format(prefix=prefix, id=task_id), body, format="json")
        assert response.status_code == 404
        assert response.json()["detail"]
