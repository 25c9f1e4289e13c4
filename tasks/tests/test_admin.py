"""The staff admin for tasks: list, search, filters, completion actions, cost per page."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.admin_pagination import EstimatedCountPaginator
from tasks.models import Task

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tasks/task/"


def listed_titles(response):
    return sorted(task.title for task in response.context["cl"].result_list)


def test_changelist_shows_the_columns_staff_need(admin_client, make_task):
    make_task("user-a", title="Buy milk")
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    headers = [str(header["text"]) for header in response.context["result_headers"]][1:]
    assert headers == ["title", "user id", "completed", "priority", "due at", "created at", "updated at"]
    assert b"Buy milk" in response.content and b"user-a" in response.content


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    "query, expected",
    [
        ("milk", ["Buy milk"]),
        ("MILK", ["Buy milk"]),
        ("litres", ["Buy milk"]),
        ("user-b", ["Call mum", "Fix bike"]),
        ("user", []),
    ],
)
def test_search_matches_title_description_or_an_exact_user_id(admin_client, make_task, query, expected):
    make_task("user-a", title="Buy milk", description="2 litres")
    make_task("user-b", title="Call mum")
    make_task("user-b", title="Fix bike")
    assert listed_titles(admin_client.get(CHANGELIST, {"q": query})) == expected


def test_user_id_search_keeps_the_other_filters(admin_client, make_task):
    make_task("user-b", title="Call mum", completed=True)
    make_task("user-b", title="Fix bike")
    response = admin_client.get(CHANGELIST, {"q": "user-b", "completed__exact": "1"})
    assert listed_titles(response) == ["Call mum"]


def test_filters_on_completed_and_date(admin_client, make_task):
    make_task(title="Done", completed=True)
    make_task(title="Open")
    assert listed_titles(admin_client.get(CHANGELIST, {"completed__exact": "0"})) == ["Open"]
    assert listed_titles(admin_client.get(CHANGELIST, {"created_at__gte": "2000-01-01 00:00:00+00:00"})) == [
        "Done",
        "Open",
    ]
    assert listed_titles(admin_client.get(CHANGELIST, {"created_at__lt": "2000-01-01 00:00:00+00:00"})) == []


@pytest.mark.parametrize(
    "action, message",
    [("mark_completed", "2 tasks marked completed."), ("mark_not_completed", "1 task marked not completed.")],
)
def test_bulk_actions_change_only_rows_in_the_other_state_and_say_how_many(admin_client, make_task, action, message):
    tasks = [make_task(title="a"), make_task(title="b"), make_task(title="c", completed=True)]
    Task.objects.update(updated_at="2000-01-01T00:00:00Z")
    response = admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [task.pk for task in tasks]}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [message]
    completed = action == "mark_completed"
    assert set(Task.objects.values_list("completed", flat=True)) == {completed}
    changed = Task.objects.filter(updated_at__year__gt=2000).values_list("title", flat=True)
    assert sorted(changed) == (["a", "b"] if completed else ["c"])


def test_deleting_a_selection_is_not_offered(admin_client, make_task):
    make_task()
    actions = dict(admin_client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert set(actions) == {"", "mark_completed", "mark_not_completed"}


def test_timestamps_are_read_only_on_the_change_form(admin_client, make_task):
    task = make_task()
    response = admin_client.get(f"{CHANGELIST}{task.pk}/change/")
    form_fields = set(response.context["adminform"].form.fields)
    assert form_fields == {"user_id", "title", "description", "completed", "priority", "due_at", "tags"}


def test_the_page_costs_the_same_queries_for_five_rows_as_for_fifty(admin_client, make_task):
    def queries_for_changelist():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(captured)

    for _ in range(5):
        make_task()
    few = queries_for_changelist()
    for _ in range(45):
        make_task()
    assert queries_for_changelist() == few


def test_paginator_counts_filtered_lists_exactly(make_task):
    for completed in (True, True, False):
        make_task(completed=completed)
    assert EstimatedCountPaginator(Task.objects.filter(completed=True), 10).count == 2
    assert EstimatedCountPaginator(Task.objects.all(), 10).count == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reltuples is PostgreSQL's")
def test_paginator_takes_the_planners_estimate_for_the_whole_table(make_task, monkeypatch):
    monkeypatch.setattr("tasks.admin_pagination.EXACT_COUNT_BELOW", 10)
    Task.objects.bulk_create(Task(user_id="user-a", title=f"t{i}") for i in range(30))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tasks_task")
    Task.objects.bulk_create(Task(user_id="user-a", title=f"late{i}") for i in range(5))
    with CaptureQueriesContext(connection) as captured:
        assert EstimatedCountPaginator(Task.objects.all(), 10).count == 30
    assert not any("COUNT(" in query["sql"].upper() for query in captured)
    assert EstimatedCountPaginator(Task.objects.filter(title__startswith="late"), 10).count == 5


def created(make_task, *timestamps):
    for timestamp in timestamps:
        Task.objects.filter(pk=make_task().pk).update(created_at=timestamp)


def hierarchy_titles(response):
    return [choice["title"] for choice in response.context["choices"]]


def test_date_hierarchy_offers_each_year_from_the_first_task_to_the_last_without_distinct(admin_client, make_task):
    created(make_task, "2024-03-01T10:00:00Z", "2026-07-01T10:00:00Z")
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(CHANGELIST)
    assert hierarchy_titles(response) == ["2024", "2025", "2026"]
    assert not any("DISTINCT" in query["sql"].upper() for query in captured)


def test_date_hierarchy_in_a_year_offers_its_months_and_links_to_them(admin_client, make_task):
    created(make_task, "2025-03-31T10:00:00Z", "2025-05-02T10:00:00Z", "2026-01-01T10:00:00Z")
    response = admin_client.get(CHANGELIST, {"created_at__year": "2025"})
    assert hierarchy_titles(response) == ["March 2025", "April 2025", "May 2025"]
    assert response.context["choices"][0]["link"] == "?created_at__month=3&created_at__year=2025"
    assert len(response.context["cl"].result_list) == 2


def test_date_hierarchy_of_a_single_month_opens_at_its_days(admin_client, make_task):
    created(make_task, "2025-05-02T10:00:00Z", "2025-05-04T10:00:00Z")
    response = admin_client.get(CHANGELIST)
    assert hierarchy_titles(response) == ["May 2", "May 3", "May 4"]
    assert response.context["back"]["title"] == "2025"
    day = admin_client.get(CHANGELIST, {"created_at__year": "2025", "created_at__month": "5", "created_at__day": "4"})
    assert hierarchy_titles(day) == ["May 4"] and len(day.context["cl"].result_list) == 1


def test_date_hierarchy_of_an_empty_year_leads_back_to_all_dates(admin_client, make_task):
    created(make_task, "2025-05-02T10:00:00Z")
    response = admin_client.get(CHANGELIST, {"created_at__year": "1999"})
    assert hierarchy_titles(response) == []
    assert response.context["back"] == {"link": "?", "title": "All dates"}


def test_admin_edits_planning_fields_with_the_apis_tag_rules(admin_client, make_task):
    task = make_task("user-a", title="plan")
    url = f"/admin/tasks/task/{task.id}/change/"
    form = {
        "user_id": "user-a",
        "title": "plan",
        "description": "",
        "priority": "3",
        "due_at_0": "2026-12-01",
        "due_at_1": "17:00:00",
        "tags": '["Work", " work ", "home"]',
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.priority, task.tags, task.tag_keys, task.version) == (
        3,
        ["Work", "home"],
        {"work": True, "home": True},
        2,
    )
    response = admin_client.post(url, {**form, "tags": json.dumps([f"t{i}" for i in range(21)])})
    assert response.status_code == 200
    assert b"At most 20 tags" in response.content
