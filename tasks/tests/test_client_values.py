"""Client values at the edges: each class found answering 500 is a 400 with a code (401 for a token)."""

import base64
import json
from datetime import datetime, timezone

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db


def cursor_of(order, values):
    payload = json.dumps({"o": order, "v": values}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def assert_bad_request(response, parameter):
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body[parameter], list) and body[parameter], body


@pytest.mark.parametrize(
    "query, parameter",
    [
        pytest.param("tag=a%00b", "tag", id="nul-in-tag"),
        pytest.param("tag_all=a%00b", "tag_all", id="nul-in-tag-all"),
        pytest.param("search=a%00b", "search", id="nul-in-search"),
        pytest.param("created_after=0001-01-01T00:00:00%2B01:00", "created_after", id="year-1-before-utc"),
        pytest.param("updated_since=9999-12-31T23:00:00-05:00", "updated_since", id="year-9999-after-utc"),
        pytest.param("limit=%C2%B2", "limit", id="superscript-digit-limit"),
        pytest.param("limit=%D9%A1%D9%A2", "limit", id="arabic-indic-digits-limit"),
        pytest.param("limit=" + "9" * 5000, "limit", id="limit-beyond-int-digits"),
    ],
)
def test_query_values_that_used_to_answer_500_are_400(user_client, query, parameter):
    assert_bad_request(user_client.get(f"/api/tasks?{query}"), parameter)


@pytest.mark.parametrize(
    "query, expected",
    [
        pytest.param("due_before=2025-12-31T16:01:00%2B16:00", ["early"], id="plus-16"),
        pytest.param("due_before=2026-01-01T00:00:00%2B23:59", ["early"], id="plus-23-59"),
        pytest.param("due_after=2025-12-30T12:01:00-23:59", ["late"], id="minus-23-59"),
    ],
)
def test_any_offset_python_reads_is_taken_as_that_instant_in_utc(user_client, make_task, query, expected):
    make_task("user-a", title="early", due_at=datetime(2025, 12, 31, 0, tzinfo=timezone.utc))
    make_task("user-a", title="late", due_at=datetime(2025, 12, 31, 12, tzinfo=timezone.utc))
    response = user_client.get(f"/api/tasks?{query}")
    assert response.status_code == 200, response.content
    assert [task["title"] for task in response.json()] == expected


def test_due_before_the_last_day_of_year_9999_finds_every_dated_task(user_client, make_task):
    make_task("user-a", title="late", due_at=datetime(9999, 12, 31, 12, tzinfo=timezone.utc))
    make_task("user-a", title="undated")
    response = user_client.get("/api/tasks?due_before=9999-12-31")
    assert response.status_code == 200, response.content
    assert [task["title"] for task in response.json()] == ["late"]


def test_due_before_a_date_excludes_the_next_instant(user_client, make_task):
    make_task("user-a", title="in", due_at=datetime(2026, 1, 1, 8, tzinfo=timezone.utc))
    make_task("user-a", title="out", due_at=datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert [t["title"] for t in user_client.get("/api/tasks?due_before=2026-01-01").json()] == ["in"]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param('"²"', id="superscript-digit"),
        pytest.param('"' + "9" * 5000 + '"', id="beyond-int-digits"),
        pytest.param('"99999999999999999999999"', id="beyond-bigint"),
        pytest.param('"١"', id="arabic-indic-digit"),
    ],
)
@pytest.mark.parametrize("method", ["patch", "delete", "complete"])
def test_odd_if_match_values_never_answer_500(user_client, make_task, header, method):
    task = make_task("user-a")
    url = f"/api/tasks/{task.id}"
    if method == "complete":
        response = user_client.patch(f"{url}/complete", HTTP_IF_MATCH=header)
    elif method == "patch":
        response = user_client.patch(url, {"title": "new"}, format="json", HTTP_IF_MATCH=header)
    else:
        response = user_client.delete(url, HTTP_IF_MATCH=header)
    assert response.status_code == 412, response.content
    assert Task.objects.get(pk=task.id).version == task.version


@pytest.mark.parametrize(
    "order, values",
    [
        pytest.param("-created_at", ["0001-01-01T00:00:00+01:00", 1], id="year-0-in-utc"),
        pytest.param("-created_at", ["2026-01-01T00:00:00Z", 2**70], id="id-beyond-bigint"),
        pytest.param("-created_at", ["2026-01-01T00:00:00Z", 1e400], id="infinite-id"),
        pytest.param("-created_at", ["2026-01-01T00:00:00Z", True], id="boolean-id"),
        pytest.param("-created_at", ["2026-01-01T00:00:00Z", 1.5], id="fractional-id"),
        pytest.param("title", ["a\u0000b", 1], id="nul-in-title"),
        pytest.param("title", ["\ud800", 1], id="lone-surrogate-in-title"),
        pytest.param("title", [["a"], 1], id="list-as-title"),
        pytest.param("priority", [10**30, 1], id="priority-beyond-range"),
        pytest.param("priority", [float("nan"), 1], id="nan-priority"),
    ],
)
def test_forged_cursor_contents_are_400(user_client, make_task, order, values):
    make_task("user-a")
    cursor = cursor_of(f"{order},{'-id' if order.startswith('-') else 'id'}", values)
    response = user_client.get(f"/api/tasks?ordering={order}&cursor={cursor}")
    assert_bad_request(response, "cursor")


def test_a_cursor_instant_with_an_offset_beyond_postgresqls_is_read_in_utc(user_client, make_task):
    make_task("user-a")
    cursor = cursor_of("-created_at,-id", ["2999-01-01T00:00:00+20:00", 2**40])
    response = user_client.get(f"/api/tasks?ordering=-created_at&cursor={cursor}")
    assert response.status_code == 200, response.content
    assert len(response.json()) == 1


@pytest.mark.parametrize("task_id", ["9" * 5000, "9223372036854775808", "١"])
def test_a_task_id_beyond_bigint_in_the_path_is_404(user_client, task_id):
    for response in (user_client.patch(f"/api/tasks/{task_id}/complete"), user_client.get(f"/api/tasks/{task_id}")):
        assert response.status_code == 404, response.content
        assert response.json()["detail"]


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": 1_900_000_000_000}, id="exp-in-milliseconds"),
        pytest.param({"exp": 10**30}, id="exp-huge"),
        pytest.param({"exp": float("inf")}, id="exp-infinite"),
        pytest.param({"exp": float("nan")}, id="exp-nan"),
        pytest.param({"exp": "2000000000"}, id="exp-string"),
        pytest.param({"iat": 1_700_000_000_000_000}, id="iat-in-microseconds"),
        pytest.param({"iat": float("inf")}, id="iat-infinite"),
        pytest.param({"iat": True}, id="iat-boolean"),
        pytest.param({"nbf": 10**30}, id="nbf-huge"),
        pytest.param({"nbf": -(10**30)}, id="nbf-hugely-negative"),
        pytest.param({"nbf": float("-inf")}, id="nbf-minus-infinite"),
        pytest.param({"sub": "user\u0000a"}, id="nul-in-sub"),
        pytest.param({"sub": "user\ud800"}, id="lone-surrogate-in-sub"),
        pytest.param({"sub": "user\na"}, id="newline-in-sub"),
        pytest.param({"sub": 12345}, id="numeric-sub"),
    ],
)
def test_validly_signed_tokens_with_unusable_claims_are_401(api_client, make_token, claims):
    assert_token_refused(api_client, make_token(**claims), "token_not_valid")


def test_a_boolean_exp_is_401(api_client, make_token):
    # PyJWT, which checks `exp` first, reads `true` as 1 (January 1970): expired.
    assert_token_refused(api_client, make_token(exp=True), "token_expired")


def assert_token_refused(api_client, token, code):
    for _ in range(2):  # the first verification, then the cache of verified tokens
        response = api_client.post("/api/tasks", {"title": "t"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401, response.content
        assert response.json() == {"detail": "Invalid token.", "code": code}
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "query, parameter",
    [
        pytest.param("due_before=", "due_before", id="empty-date"),
        pytest.param("search=", "search", id="empty-search"),
        pytest.param("search=%20%20", "search", id="blank-search"),
        pytest.param("priority=", "priority", id="empty-priority"),
        pytest.param("tag=a&tag=", "tag", id="empty-among-repeated-tags"),
        pytest.param("limit=", "limit", id="empty-limit"),
        pytest.param("cursor=", "cursor", id="empty-cursor"),
        pytest.param("ordering=", "ordering", id="empty-ordering"),
        pytest.param("completed=true&completed=false", "completed", id="repeated-boolean"),
        pytest.param("limit=1&limit=500", "limit", id="repeated-limit"),
        pytest.param("search=a&search=b", "search", id="repeated-search"),
        pytest.param("ordering=title&ordering=-title", "ordering", id="repeated-ordering"),
        pytest.param("due_after=2026-01-01&due_after=2027-01-01", "due_after", id="repeated-date"),
    ],
)
def test_an_empty_value_or_a_repeated_single_valued_parameter_is_400_naming_it(user_client, query, parameter):
    response = user_client.get(f"/api/tasks?{query}")
    assert_bad_request(response, parameter)


@pytest.mark.parametrize("query", ["priority=high&priority=low", "tag=a&tag=b", "tag_all=a&tag_all=b", "_=123&_="])
def test_multi_valued_and_unknown_parameters_may_repeat(user_client, query):
    assert user_client.get(f"/api/tasks?{query}").status_code == 200


def hour_offsets():
    """Each hour's offset and its last minute, -23:59 to +23:59 (the minutes between are generated in the fuzz tests)."""
    for sign in "+-":
        for hours in range(24):
            for minutes in (0, 59):
                yield f"{sign}{hours:02}:{minutes:02}"


def test_every_hour_offset_at_the_years_1_and_9999_is_read_or_refused_by_name(user_client, make_task):
    make_task("user-a", due_at=datetime(2026, 6, 15, tzinfo=timezone.utc))
    for offset in hour_offsets():
        query = {
            "due_after": f"0001-01-01T00:00:00{offset}",
            "due_before": f"9999-12-31T23:59:00{offset}",
            "created_after": f"2026-06-15T12:00:00{offset}",
        }
        out_of_range = {name for name, value in query.items() if not representable_in_utc(value)}
        response = user_client.get("/api/tasks", query)
        if out_of_range:
            assert response.status_code == 400, (offset, response.content)
            assert set(response.json()) - {"detail", "code"} == out_of_range
        else:
            assert response.status_code == 200, (offset, response.content)


def representable_in_utc(value):
    try:
        datetime.fromisoformat(value).astimezone(timezone.utc)
    except OverflowError:
        return False
    return True
