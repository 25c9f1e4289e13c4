"""Database queries per request, through the real token path (which itself makes none)."""

import pytest

pytestmark = pytest.mark.django_db

USER = "user-a"


@pytest.fixture
def warm_client(user_client):
    """user-a's client, whose first request has already fetched the JWKS (the fetch is once per process)."""
    assert user_client.get("/api/tasks").status_code == 200
    return user_client


@pytest.fixture
def task(make_task):
    return make_task(USER, title="Buy milk", description="2 litres")


def test_list_page_costs_one_query_and_no_count(warm_client, make_task, django_assert_num_queries):
    for number in range(3):
        make_task(USER, title=f"task {number}")
    with django_assert_num_queries(1) as captured:
        response = warm_client.get("/api/tasks?limit=2")
    assert response.status_code == 200
    assert len(response.json()) == 2
    assert "Link" in response
    assert "count(" not in captured.captured_queries[0]["sql"].lower()


def test_deep_keyset_page_costs_one_query(warm_client, make_task, django_assert_num_queries):
    for number in range(3):
        make_task(USER, title=f"task {number}")
    next_url = warm_client.get("/api/tasks?limit=1")["Link"].split(">")[0].lstrip("<")
    with django_assert_num_queries(1):
        response = warm_client.get(next_url)
    assert response.status_code == 200
    assert len(response.json()) == 1


def test_retrieve_costs_one_query(warm_client, task, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = warm_client.get(f"/api/tasks/{task.id}")
    assert response.status_code == 200


def test_create_costs_one_query(warm_client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = warm_client.post("/api/tasks", {"title": "Buy milk"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_costs_two_queries(warm_client, task, method, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = getattr(warm_client, method)(f"/api/tasks/{task.id}", {"title": "Buy oat milk"}, format="json")
    assert response.status_code == 200


def test_toggle_costs_at_most_two_queries(warm_client, task, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = warm_client.patch(f"/api/tasks/{task.id}/complete")
    assert response.status_code == 200


def test_delete_costs_at_most_two_queries(warm_client, task, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = warm_client.delete(f"/api/tasks/{task.id}")
    assert response.status_code == 204
