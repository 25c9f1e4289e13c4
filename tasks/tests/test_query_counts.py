"""Database queries per request, through the real token path (which itself makes none)."""
import pytest

pytestmark = pytest.mark.django_db

USER = "user-a"


@pytest.fixture
def client(auth_client):
    """A client whose first request has already fetched the JWKS (the fetch is once per process)."""
    client = auth_client(USER)
    assert client.get("/api/tasks").status_code == 200
    return client


@pytest.fixture
def task(make_task):
    return make_task(USER, title="Buy milk", description="2 litres")


def test_list_page_costs_one_query_and_no_count(client, make_task, django_assert_num_queries):
    for number in range(3):
        make_task(USER, title=f"task {number}")
    with django_assert_num_queries(1) as captured:
        response = client.get("/api/tasks?limit=2")
    assert response.status_code == 200
    assert len(response.json()) == 2
    assert "Link" in response
    assert "count(" not in captured.captured_queries[0]["sql"].lower()


def test_deep_keyset_page_costs_one_query(client, make_task, django_assert_num_queries):
    for number in range(3):
        make_task(USER, title=f"task {number}")
    next_url = client.get("/api/tasks?limit=1")["Link"].split(">")[0].lstrip("<")
    with django_assert_num_queries(1):
        response = client.get(next_url)
    assert response.status_code == 200
    assert len(response.json()) == 1


def test_retrieve_costs_one_query(client, task, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get(f"/api/tasks/{task.id}")
    assert response.status_code == 200


def test_create_costs_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.post("/api/tasks", {"title": "Buy milk"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_costs_two_queries(client, task, method, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = getattr(client, method)(f"/api/tasks/{task.id}", {"title": "Buy oat milk"}, format="json")
    assert response.status_code == 200


def test_toggle_costs_at_most_two_queries(client, task, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.patch(f"/api/tasks/{task.id}/complete")
    assert response.status_code == 200


def test_delete_costs_at_most_two_queries(client, task, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.delete(f"/api/tasks/{task.id}")
    assert response.status_code == 204

