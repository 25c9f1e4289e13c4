"""Priority, due dates and tags; finding, ordering and paging with them; stats."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from tasks.models import Priority, Task

pytestmark = pytest.mark.django_db

USER = "user-a"
LINK_NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')
NOW = datetime.now(timezone.utc)


def titles(response):
    assert response.status_code == 200, response.content
    return [task["title"] for task in response.json()]


def walk(user_client, url):
    seen = []
    while url:
        response = user_client.get(url)
        seen += titles(response)
        url = LINK_NEXT.match(response["Link"])["url"] if "Link" in response else None
    return seen


# --- fields ---------------------------------------------------------------------------------


def test_new_fields_have_defaults(user_client):
    body = user_client.post("/api/tasks", {"title": "t"}, format="json").json()
    assert (body["priority"], body["due_at"], body["tags"], body["version"]) == ("medium", None, [], 1)


def test_priority_is_stored_so_that_it_sorts(user_client):
    user_client.post("/api/tasks", {"title": "t", "priority": "high"}, format="json")
    assert Task.objects.get().priority == Priority.HIGH == 3


@pytest.mark.parametrize("value", ["urgent", "HIGH", 3, None, ""])
def test_unknown_priority_is_400(user_client, value):
    response = user_client.post("/api/tasks", {"title": "t", "priority": value}, format="json")
    assert response.status_code == 400
    assert "priority" in response.json()


@pytest.mark.parametrize(
    "value, stored",
    [
        ("2026-12-01T17:30:00Z", datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc)),
        ("2026-12-01T17:30:00+02:00", datetime(2026, 12, 1, 15, 30, tzinfo=timezone.utc)),
        ("2026-12-01", datetime(2026, 12, 1, 23, 59, 59, tzinfo=timezone.utc)),
        (None, None),
    ],
    ids=["utc", "offset", "date-only-means-end-of-day-utc", "null"],
)
def test_due_at_accepts_offsets_and_dates(user_client, value, stored):
    body = user_client.post("/api/tasks", {"title": "t", "due_at": value}, format="json").json()
    assert Task.objects.get().due_at == stored
    assert body["due_at"] == (stored.isoformat().replace("+00:00", "Z") if stored else None)


@pytest.mark.parametrize("value", ["2026-12-01T17:30:00", "2026-13-01", "tomorrow", 1764607800, "2026-02-30"])
def test_due_at_without_offset_or_invalid_is_400(user_client, value):
    response = user_client.post("/api/tasks", {"title": "t", "due_at": value}, format="json")
    assert response.status_code == 400
    assert "due_at" in response.json()


def test_tags_are_trimmed_deduplicated_ignoring_case_and_kept_in_order(user_client):
    body = user_client.post(
        "/api/tasks", {"title": "t", "tags": [" Work ", "home", "work", "HOME", "Zeta"]}, format="json"
    ).json()
    assert body["tags"] == ["Work", "home", "Zeta"]
    assert Task.objects.get().tag_keys == {"work": True, "home": True, "zeta": True}


@pytest.mark.parametrize(
    "tags",
    [[f"t{i}" for i in range(21)], ["x" * 33], [""], ["  "], [1], "work", [["nested"]], ["nul\x00"]],
    ids=["21-tags", "33-chars", "empty", "blank", "number", "not-a-list", "nested", "nul"],
)
def test_invalid_tags_are_400(user_client, tags):
    response = user_client.post("/api/tasks", {"title": "t", "tags": tags}, format="json")
    assert response.status_code == 400
    assert "tags" in response.json()


def test_twenty_tags_of_32_characters_are_accepted(user_client):
    tags = [f"{i:02d}" + "x" * 30 for i in range(20)]
    assert user_client.post("/api/tasks", {"title": "t", "tags": tags}, format="json").json()["tags"] == tags


def test_patching_tags_updates_their_keys(user_client, make_task):
    task = make_task(USER, tags=["old"])
    user_client.patch(f"/api/tasks/{task.id}", {"tags": ["New"]}, format="json")
    task.refresh_from_db()
    assert (task.tags, task.tag_keys) == (["New"], {"new": True})


def test_core_contract_requests_still_work_unchanged(user_client):
    created = user_client.post("/api/tasks", {"title": "t", "description": "d"}, format="json")
    assert created.status_code == 201
    put = user_client.put(f"/api/tasks/{created.json()['id']}", {"title": "u", "description": "e"}, format="json")
    assert put.status_code == 200
    assert put.json()["priority"] == "medium"


# --- filters --------------------------------------------------------------------------------


@pytest.fixture
def planned(make_task):
    """A small, varied set of tasks of USER, and one of someone else that must never appear."""
    make_task(USER, title="report", priority=Priority.HIGH, due_at=NOW - timedelta(days=1), tags=["Work"])
    make_task(USER, title="groceries", priority=Priority.LOW, due_at=NOW + timedelta(days=1), tags=["home", "shop"])
    make_task(
        USER,
        title="taxes",
        priority=Priority.HIGH,
        due_at=NOW - timedelta(days=3),
        completed=True,
        tags=["home", "work"],
    )
    make_task(USER, title="100% done_ish", description="literal % and _", priority=Priority.MEDIUM)
    make_task("user-b", title="report of b", priority=Priority.HIGH, due_at=NOW - timedelta(days=1), tags=["work"])


@pytest.mark.parametrize(
    "query, expected",
    [
        ("completed=true", {"taxes"}),
        ("completed=false", {"report", "groceries", "100% done_ish"}),
        ("priority=high", {"report", "taxes"}),
        ("priority=high&priority=low", {"report", "taxes", "groceries"}),
        ("tag=work", {"report", "taxes"}),
        ("tag=WORK", {"report", "taxes"}),
        ("tag=shop&tag=work", {"report", "taxes", "groceries"}),
        ("tag_all=home&tag_all=work", {"taxes"}),
        ("tag_all=home", {"groceries", "taxes"}),
        ("overdue=true", {"report"}),
        ("overdue=false", {"groceries", "taxes", "100% done_ish"}),
        (f"due_before={(NOW - timedelta(days=2)).date()}", {"taxes"}),
        (f"due_after={NOW.date()}", {"groceries"}),
        (f"due_after={(NOW - timedelta(days=2)).date()}&due_before={NOW.date()}", {"report"}),
        ("search=REPO", {"report"}),
        ("search=%25", {"100% done_ish"}),
        ("search=_", {"100% done_ish"}),
        ("search=literal", {"100% done_ish"}),
        ("search=nothing-like-this", set()),
        ("priority=high&completed=false&tag=work", {"report"}),
    ],
)
def test_each_filter_alone_and_combined_stays_in_the_owners_scope(user_client, planned, query, expected):
    assert set(titles(user_client.get(f"/api/tasks?{query}"))) == expected


def test_created_after_and_updated_since_serve_syncing_clients(user_client, make_task):
    old = make_task(USER, title="old")
    Task.objects.filter(pk=old.pk).update(created_at=NOW - timedelta(days=5), updated_at=NOW - timedelta(days=5))
    make_task(USER, title="new")
    since = (NOW - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert titles(user_client.get(f"/api/tasks?created_after={since}")) == ["new"]
    assert titles(user_client.get(f"/api/tasks?updated_since={since}")) == ["new"]
    user_client.patch(f"/api/tasks/{old.id}", {"title": "old, edited"}, format="json")
    assert set(titles(user_client.get(f"/api/tasks?updated_since={since}"))) == {"new", "old, edited"}


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("completed=maybe", "completed"),
        ("completed=1", "completed"),
        ("priority=urgent", "priority"),
        ("overdue=yes", "overdue"),
        ("due_before=tomorrow", "due_before"),
        ("due_after=2026-12-01T10:00:00", "due_after"),
        ("created_after=2026-02-30", "created_after"),
        ("updated_since=0", "updated_since"),
        ("tag=" + "x" * 33, "tag"),
        ("ordering=owner", "ordering"),
        ("ordering=title,-title", "ordering"),
    ],
)
def test_invalid_filter_values_are_400_naming_the_parameter(user_client, planned, query, parameter):
    response = user_client.get(f"/api/tasks?{query}")
    assert response.status_code == 400
    assert parameter in response.json()


def test_unknown_ordering_names_the_allowed_fields(user_client):
    message = user_client.get("/api/tasks?ordering=colour").json()["ordering"][0]
    for field in ("created_at", "updated_at", "due_at", "priority", "title"):
        assert field in message


# --- ordering -------------------------------------------------------------------------------


@pytest.fixture
def ordered(make_task):
    specs = [
        ("a", Priority.LOW, 3),
        ("b", Priority.HIGH, None),
        ("c", Priority.MEDIUM, 1),
        ("d", Priority.HIGH, 2),
        ("e", Priority.LOW, None),
    ]
    for title, priority, due_in_days in specs:
        due = NOW + timedelta(days=due_in_days) if due_in_days is not None else None
        make_task(USER, title=title, priority=priority, due_at=due)


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("title", ["a", "b", "c", "d", "e"]),
        ("-title", ["e", "d", "c", "b", "a"]),
        ("due_at", ["c", "d", "a", "b", "e"]),  # nulls last, ties in id order
        ("-due_at", ["a", "d", "c", "e", "b"]),  # nulls last here too
        ("priority,title", ["a", "e", "c", "b", "d"]),
        ("-priority,title", ["b", "d", "c", "a", "e"]),
        ("-priority,due_at", ["d", "b", "c", "a", "e"]),
        ("created_at", ["a", "b", "c", "d", "e"]),
        ("-created_at", ["e", "d", "c", "b", "a"]),
        ("updated_at", ["a", "b", "c", "d", "e"]),
    ],
)
def test_ordering_alone_and_combined(user_client, ordered, ordering, expected):
    assert titles(user_client.get(f"/api/tasks?ordering={ordering}")) == expected


@pytest.mark.parametrize(
    "ordering", ["title", "-due_at", "due_at", "-priority,due_at", "priority,-title", "updated_at"]
)
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_visits_each_match_once_in_every_ordering(user_client, ordered, ordering, limit):
    everything = titles(user_client.get(f"/api/tasks?ordering={ordering}"))
    assert walk(user_client, f"/api/tasks?ordering={ordering}&limit={limit}") == everything


def test_paging_works_with_filters_and_ordering_together(user_client, make_task):
    for i in range(30):
        make_task(
            USER, title=f"t{i:02d}", priority=Priority.HIGH if i % 3 else Priority.LOW, tags=["work"] if i % 2 else []
        )
    query = "priority=high&tag=work&ordering=-priority,title"
    everything = titles(user_client.get(f"/api/tasks?{query}"))
    assert len(everything) == 10
    assert walk(user_client, f"/api/tasks?{query}&limit=3") == everything


def test_a_cursor_from_another_ordering_is_400(user_client, ordered):
    link = user_client.get("/api/tasks?ordering=title&limit=2")["Link"]
    cursor = re.search(r"cursor=([^&>]+)", link)[1]
    response = user_client.get(f"/api/tasks?ordering=-due_at&cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_tasks_created_while_paging_by_priority_never_repeat_or_shift(user_client, make_task):
    for i in range(9):
        make_task(USER, title=f"t{i}", priority=[Priority.LOW, Priority.MEDIUM, Priority.HIGH][i % 3])
    everything = titles(user_client.get("/api/tasks?ordering=-priority"))
    first = user_client.get("/api/tasks?ordering=-priority&limit=4")
    seen = titles(first)
    url = LINK_NEXT.match(first["Link"])["url"]
    for j in range(3):
        make_task(USER, title=f"new{j}", priority=Priority.HIGH)  # sorts before the cursor: not shown
        make_task(USER, title=f"late{j}", priority=Priority.LOW)  # sorts after it: shown once
    seen += walk(user_client, url)
    assert len(seen) == len(set(seen))
    assert [t for t in seen if not t.startswith(("new", "late"))] == everything
    assert sorted(t for t in seen if t.startswith("late")) == ["late0", "late1", "late2"]


# --- stats ----------------------------------------------------------------------------------


def test_stats_count_the_callers_tasks_only(user_client, planned, django_assert_max_num_queries):
    user_client.get("/api/tasks")  # warm the key cache
    with django_assert_max_num_queries(2):
        response = user_client.get("/api/tasks/stats")
    assert response.status_code == 200
    assert response.json() == {
        "total": 4,
        "completed": 1,
        "pending": 3,
        "overdue": 1,
        "by_priority": {"low": 1, "medium": 1, "high": 2},
        "tags": [{"name": "home", "count": 2}, {"name": "work", "count": 2}, {"name": "shop", "count": 1}],
        "tags_total": 3,
    }


def test_stats_on_the_user_path_and_for_no_tasks(auth_client):
    response = auth_client("nobody").get("/api/nobody/tasks/stats/")
    assert response.json() == {
        "total": 0,
        "completed": 0,
        "pending": 0,
        "overdue": 0,
        "by_priority": {"low": 0, "medium": 0, "high": 0},
        "tags": [],
        "tags_total": 0,
    }
    assert auth_client("nobody").get(f"/api/{USER}/tasks/stats").status_code == 403


def test_stats_list_the_100_most_used_tags_and_count_them_all(user_client, make_task):
    for number in range(150):
        make_task(USER, title=f"t{number}", tags=[f"tag{number:03}"] + (["often"] if number % 2 else []))
    make_task(USER, title="newest", tags=["OFTEN"])
    body = user_client.get("/api/tasks/stats").json()
    assert body["tags_total"] == 151
    assert len(body["tags"]) == 100
    assert body["tags"][0] == {"name": "OFTEN", "count": 76}
    assert body["tags"][1:] == [{"name": f"tag{number:03}", "count": 1} for number in range(99)]


def test_stats_name_a_tag_as_written_on_its_newest_task(user_client, make_task):
    make_task(USER, title="old", tags=["Home", "ÉTÉ"])
    make_task(USER, title="new", tags=["hoME"])
    make_task("user-b", title="other user", tags=["HOME"])
    body = user_client.get("/api/tasks/stats").json()
    assert body["tags"] == [{"name": "hoME", "count": 2}, {"name": "ÉTÉ", "count": 1}]
