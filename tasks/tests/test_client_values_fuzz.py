"""Generated client values through the real view stack: never a 5xx; a bad value is a 400 with a code.

Every query parameter, the headers the API reads, both path shapes, the cursor's contents,
the body's fields and the token claims the service stores or compares get values from the
classes that broke it before: NUL, lone surrogates, non-ASCII digits, huge and non-finite
numbers, every UTC offset Python reads (-23:59 to +23:59), the years 1 and 9999, over-long
strings. Generation is derandomized and bounded, so CI runs the same cases every time.
"""

import base64
import json
import time
from urllib.parse import quote

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ErrorDetail

from tasks.filters import TaskFilter, TaskOrdering
from tasks.middleware import REQUEST_ID
from tasks.models import Task
from tasks.pagination import KeysetPagination

pytestmark = pytest.mark.django_db

EXAMPLES = 60
fuzz_settings = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,  # the machine is shared; a slow example is not a failure here
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

QUERY_PARAMETERS = sorted(TaskFilter.base_filters.keys() | {TaskOrdering.param, *KeysetPagination.query_params})

NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "a\udfffb",
    "\x1b[31m",
    "\r\n",
    "١٢",
    "²",
    "𝟗",
    "٣٠٠",
    "1_0",
    " 7 ",
    "-1",
    "0",
    "1e400",
    "NaN",
    "Infinity",
    "-0",
    "true",
    "True",
    "null",
    "[]",
    "{}",
    "9" * 30,
    "9" * 5000,
    "x" * 10_000,
    "%00",
    "'; DROP TABLE tasks_task; --",
    'W/"1"',
    '"1"',
    "*",
    "\u202e",
    "😀" * 40,
]
odd_digits = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6)  # int() reads some
text = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    odd_digits,
)
offsets = st.tuples(st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59)).map(
    lambda o: f"{o[0]}{o[1]:02}:{o[2]:02}"
)
years = st.one_of(st.sampled_from([1, 2, 1969, 1970, 2026, 9998, 9999]), st.integers(1, 9999))
dates = st.tuples(years, st.integers(1, 12), st.integers(1, 28)).map(lambda d: f"{d[0]:04}-{d[1]:02}-{d[2]:02}")
instants = st.one_of(
    dates,
    st.tuples(dates, st.integers(0, 23), st.integers(0, 59), st.one_of(offsets, st.just("Z"), st.just(""))).map(
        lambda t: f"{t[0]}T{t[1]:02}:{t[2]:02}:00{t[3]}"
    ),
)
numbers = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**31 - 2, max_value=2**64),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1_900_000_000_000, 253402300799, 253402300800, 10**30, 1e400, float("nan")]),
)
json_values = st.one_of(st.none(), numbers, text, instants, st.lists(st.one_of(numbers, text), max_size=3))
query_values = st.one_of(text, instants, numbers.map(str))


def as_received(value):
    """A header value as a WSGI server hands it over: the client's UTF-8 bytes, read as latin-1."""
    return value.encode("utf-8", "surrogatepass").decode("latin-1")


header_values = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=300),
    query_values.map(lambda value: f'"{value}"'),
    odd_digits.map(lambda value: f'"{value}"'),
    st.lists(query_values.map(lambda value: f'"{value}"'), min_size=1, max_size=4).map(", ".join),
).map(as_received)


def url_quote(value):
    """Percent-encoding as a client would send it; lone surrogates go as the raw bytes UTF-8 forbids."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def error_codes(data):
    """Every stable code in an error body, whatever its shape (field lists or detail and code)."""
    if isinstance(data, ErrorDetail):
        return [data.code] if data.code else []
    if isinstance(data, dict):
        own = [data["code"]] if isinstance(data.get("code"), str) and data["code"] else []
        return own + [code for name, value in data.items() if name != "code" for code in error_codes(value)]
    if isinstance(data, list):
        return [code for value in data for code in error_codes(value)]
    return []


def assert_refused_with_a_code(response, names):
    """A 400 whose body names only what was sent, with a stable code for each complaint."""
    assert response.status_code == 400, response.content
    assert set(response.data) - {"detail", "code"} <= set(names), (response.data, names)
    assert error_codes(response.data) and response.data["code"], response.data


@pytest.fixture
def task(make_task):
    return make_task("user-a", title="Fuzzed", tags=["home"])


@fuzz_settings
@given(
    query=st.dictionaries(st.sampled_from(QUERY_PARAMETERS), st.lists(query_values, min_size=1, max_size=3), max_size=3)
)
def test_no_query_value_answers_5xx(user_client, task, query):
    pairs = [(name, value) for name, values in query.items() for value in values]
    response = user_client.get("/api/tasks?" + "&".join(f"{name}={url_quote(value)}" for name, value in pairs))
    if response.status_code != 200:
        assert_refused_with_a_code(response, query)


@fuzz_settings
@given(name=st.sampled_from(["due_before", "due_after", "created_after", "updated_since"]), value=instants)
def test_every_offset_and_year_in_a_date_filter_is_200_or_a_400_naming_it(user_client, task, name, value):
    response = user_client.get(f"/api/tasks?{name}={url_quote(value)}")
    if response.status_code != 200:
        assert_refused_with_a_code(response, [name])


@fuzz_settings
@given(
    order=st.sampled_from(["-created_at", "updated_at", "due_at", "-priority", "title"]),
    values=st.lists(json_values, min_size=2, max_size=2),
)
def test_forged_cursor_contents_are_200_or_400(user_client, task, order, values):
    terms = f"{order},{'-id' if order.startswith('-') else 'id'}"
    raw = base64.urlsafe_b64encode(json.dumps({"o": terms, "v": values}).encode()).decode().rstrip("=")
    response = user_client.get(f"/api/tasks?ordering={order}&cursor={raw}")
    if response.status_code != 200:
        assert_refused_with_a_code(response, ["cursor"])


@fuzz_settings
@given(raw=st.one_of(text, st.binary(max_size=64).map(lambda b: base64.urlsafe_b64encode(b).decode())))
def test_cursor_strings_that_are_not_ours_are_400(user_client, task, raw):
    response = user_client.get(f"/api/tasks?cursor={url_quote(raw)}")
    assert_refused_with_a_code(response, ["cursor"])


@fuzz_settings
@given(if_match=header_values, method=st.sampled_from(["put", "patch", "delete", "complete"]))
def test_odd_if_match_values_are_412_and_change_nothing(user_client, make_task, if_match, method):
    # A task per example: one that `*` or `"1"` lets a DELETE remove is gone for the next example.
    task = make_task("user-a", title="Fuzzed", tags=["home"])
    url = f"/api/tasks/{task.id}"
    if method == "complete":
        response = user_client.patch(f"{url}/complete", HTTP_IF_MATCH=if_match)
    elif method == "delete":
        response = user_client.delete(url, HTTP_IF_MATCH=if_match)
    else:
        response = getattr(user_client, method)(url, {"title": "Changed"}, format="json", HTTP_IF_MATCH=if_match)
    # Only `*` or the current version's strong tag `"1"` may match.
    assert response.status_code in (200, 204, 412), response.content
    if response.status_code == 412:
        assert Task.objects.get(pk=task.pk).version == task.version


@fuzz_settings
@given(if_none_match=header_values)
def test_odd_if_none_match_values_are_200_or_304(user_client, task, if_none_match):
    response = user_client.get(f"/api/tasks/{task.id}", HTTP_IF_NONE_MATCH=if_none_match)
    assert response.status_code in (200, 304), response.content


@fuzz_settings
@given(key=header_values)
def test_odd_idempotency_keys_are_201_or_a_400_naming_the_header(user_client, key):
    response = user_client.post("/api/tasks", {"title": "Keyed"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    if response.status_code != 201:
        assert_refused_with_a_code(response, ["Idempotency-Key"])


@fuzz_settings
@given(request_id=header_values)
def test_a_request_id_is_echoed_only_when_it_is_a_safe_token(user_client, request_id):
    response = user_client.get("/api/tasks", HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 200
    assert REQUEST_ID.fullmatch(response["X-Request-ID"])
    assert response["X-Request-ID"] == request_id or not REQUEST_ID.fullmatch(request_id)


@fuzz_settings
@given(authorization=st.one_of(header_values, header_values.map(lambda value: f"Bearer {value}")))
def test_odd_authorization_headers_are_401(api_client, authorization):
    response = api_client.get("/api/tasks", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")


@fuzz_settings
@given(segment=st.one_of(text, query_values).filter(bool), suffix=st.sampled_from(["", "/1", "/1/complete", "/stats"]))
def test_odd_path_segments_are_4xx(user_client, task, segment, suffix):
    for path in (f"/api/{url_quote(segment)}/tasks{suffix}", f"/api/tasks/{url_quote(segment)}{suffix}"):
        response = user_client.get(path)
        assert 400 <= response.status_code < 500 or segment in ("user-a", str(task.id)), (path, response.content)
        assert response["Content-Type"] == "application/json"


CLAIMS = ["exp", "iat", "nbf", "sub", "iss", "aud", "email", "name", "id"]
TIME_CLAIMS = ["exp", "iat", "nbf"]


@pytest.fixture
def sign(jwks_server, signing_key):
    """sign(claims): a really signed token with these claims over Better Auth's usual ones, whatever their types.

    Signed through PyJWS: PyJWT's own encode refuses some claim types, and Better Auth need not.
    """
    return lambda claims: signed_token(signing_key, {"iss": jwks_server.origin, "aud": jwks_server.origin, **claims})


def test_the_usual_claims_signed_this_way_are_accepted(api_client, sign):
    response = api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {sign({})}")
    assert response.status_code == 200, response.content


def signed_token(signing_key, claims):
    now = int(time.time())
    payload = {"iat": now, "exp": now + 900, "sub": "user-a", **claims}
    body = json.dumps(payload, allow_nan=True).encode()
    headers = {"kid": signing_key.kid}
    return jwt.api_jws.encode(body, signing_key.private_key, algorithm=signing_key.algorithm, headers=headers)


@fuzz_settings
@given(claims=st.dictionaries(st.sampled_from(CLAIMS), json_values, min_size=1, max_size=3))
def test_validly_signed_tokens_with_any_claims_are_answered_201_or_401(api_client, sign, claims):
    token = sign(claims)
    response = api_client.post("/api/tasks", {"title": "t"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in (201, 401), response.content
    if response.status_code == 401:
        assert response.json()["code"] in ("token_not_valid", "token_expired")
    else:
        assert Task.objects.get(pk=response.json()["id"]).user_id == claims.get("sub", "user-a")


@fuzz_settings
@given(claim=st.sampled_from(TIME_CLAIMS), value=st.one_of(numbers, numbers.map(str), st.none()))
def test_validly_signed_tokens_with_any_token_time_are_answered_201_or_401(api_client, sign, claim, value):
    token = sign({claim: value})
    response = api_client.post("/api/tasks", {"title": "t"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in (201, 401), response.content


@fuzz_settings
@given(sub=text)
def test_validly_signed_tokens_with_any_subject_are_answered_201_or_401(api_client, sign, sub):
    response = api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {sign({'sub': sub})}")
    assert response.status_code in (200, 401), response.content
    if response.status_code == 200:
        assert response.json() == [] or {task["user_id"] for task in response.json()} == {sub}


@fuzz_settings
@given(
    body=st.fixed_dictionaries(
        {"title": st.one_of(text, st.just("Fine"))},
        optional={
            "due_at": st.one_of(instants, json_values),
            "tags": st.one_of(st.lists(text, max_size=3), json_values),
            "description": json_values,
            "priority": json_values,
            "completed": json_values,
        },
    )
)
def test_bodies_with_odd_values_are_201_or_a_400_naming_the_fields(user_client, body):
    response = user_client.post("/api/tasks", json.dumps(body, allow_nan=True), content_type="application/json")
    if response.status_code != 201:
        assert_refused_with_a_code(response, [*body, "non_field_errors", "detail"])


@fuzz_settings
@given(
    action=st.sampled_from(["complete", "reopen", "delete"]),
    ids=st.one_of(json_values, st.lists(json_values, max_size=4)),
)
def test_bulk_bodies_with_odd_ids_are_answered_without_a_5xx(user_client, task, action, ids):
    response = user_client.post(
        "/api/tasks/bulk", json.dumps({action: ids}, allow_nan=True), content_type="application/json"
    )
    assert response.status_code in (200, 400, 404), response.content
    if response.status_code == 400:
        assert error_codes(response.data), response.data


@fuzz_settings
@given(
    header=st.sampled_from(
        ["HTTP_ACCEPT", "HTTP_ORIGIN", "HTTP_X_FORWARDED_FOR", "HTTP_ACCEPT_LANGUAGE", "CONTENT_TYPE"]
    ),
    value=header_values,
)
def test_other_headers_never_answer_5xx(user_client, header, value):
    response = user_client.get("/api/tasks", **{header: value})
    assert response.status_code in (200, 406), response.content
    assert response["Content-Type"] == "application/json"
