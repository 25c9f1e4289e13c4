"""Keyset pages: the body stays an array, the next page is in `Link`."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tasks.models import Task

pytestmark = pytest.mark.django_db

USER = "user-a"
LINK_NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def next_url(response):
    if "Link" not in response:
        return None
    match = LINK_NEXT.match(response["Link"])
    assert match, response["Link"]
    return match["url"]


def walk(user_client, url):
    """Every page from `url` on: the list of ids seen, and the number of pages."""
    seen, pages = [], 0
    while url:
        response = user_client.get(url)
        assert response.status_code == 200
        assert isinstance(response.json(), list)
        seen += [task["id"] for task in response.json()]
        pages += 1
        url = next_url(response)
    return seen, pages


def make_tasks(count, user_id=USER, same_created_at=False):
    now = timezone.now()
    tasks = Task.objects.bulk_create(Task(user_id=user_id, title=f"task {i}") for i in range(count))
    for i, task in enumerate(tasks):
        task.created_at = now if same_created_at else now - timedelta(seconds=i)
    Task.objects.bulk_update(tasks, ["created_at"])
    return list(Task.objects.filter(user_id=user_id).order_by("-created_at", "-id").values_list("id", flat=True))


def test_default_page_is_100_with_link_to_the_next(user_client):
    expected = make_tasks(130)
    response = user_client.get("/api/tasks")
    assert [t["id"] for t in response.json()] == expected[:100]
    assert next_url(response).startswith("http://testserver/api/tasks?cursor=")


def test_walking_links_visits_every_task_once_in_order(user_client):
    expected = make_tasks(23)
    seen, pages = walk(user_client, "/api/tasks?limit=5")
    assert seen == expected
    assert pages == 5


def test_ties_on_created_at_are_paged_by_id(user_client):
    expected = make_tasks(11, same_created_at=True)
    seen, _ = walk(user_client, "/api/tasks?limit=3")
    assert seen == expected


def test_user_path_prefix_pages_too(user_client):
    expected = make_tasks(7)
    seen, _ = walk(user_client, f"/api/{USER}/tasks/?limit=2")
    assert seen == expected


def test_exact_multiple_of_limit_has_no_link_on_the_last_page(user_client):
    make_tasks(4)
    response = user_client.get("/api/tasks?limit=4")
    assert len(response.json()) == 4
    assert "Link" not in response


def test_pages_only_callers_tasks(user_client):
    make_tasks(5, user_id="user-b")
    mine = make_tasks(3)
    seen, _ = walk(user_client, "/api/tasks?limit=2")
    assert seen == mine


def test_tasks_created_while_paging_do_not_shift_later_pages(user_client):
    expected = make_tasks(6)
    first = user_client.get("/api/tasks?limit=3")
    Task.objects.create(user_id=USER, title="brand new")
    rest, _ = walk(user_client, next_url(first))
    assert [t["id"] for t in first.json()] + rest == expected


@pytest.mark.parametrize("limit", ["0", "-1", "501", "abc", "1.5", ""])
def test_invalid_limit_is_400_naming_it(user_client, limit):
    response = user_client.get(f"/api/tasks?limit={limit}")
    assert response.status_code == 400
    assert "limit" in response.json()


def test_limit_500_is_allowed(user_client):
    make_tasks(3)
    assert user_client.get("/api/tasks?limit=500").status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwgMV0", "WzEsMiwzXQ", "bnVsbA", "%00"])
def test_invalid_cursor_is_400_naming_it(user_client, cursor):
    response = user_client.get(f"/api/tasks?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_list_is_one_query(user_client, django_assert_num_queries):
    make_tasks(10)
    user_client.get("/api/tasks")  # warm the key cache
    with django_assert_num_queries(1):
        response = user_client.get("/api/tasks?limit=3")
    with django_assert_num_queries(1):
        user_client.get(next_url(response))
