"""Database round trips per request, counted on the wire between a real gunicorn and PostgreSQL.

The count is the benchmark's (bench/pgproxy.py, its remote-database mode): every turn of the
conversation with PostgreSQL, whoever asked for it (the ORM, a connection check of Django's, a
`BEGIN`). Each route is held to one, where the framework-free floor (bench/floor_app.py) spends
one on a read or a create and two on an update, a toggle or a delete (a read beside each write).
"""

import urllib.parse

import pytest

from bench.pgproxy import DelayingProxy

from .live import Gunicorn, call, database_url, require_postgresql

USER = "user-round-trips"


@pytest.fixture
def served(transactional_db, jwks_server):
    """taskapi under one sync gunicorn worker whose every database round trip passes a counting proxy."""
    require_postgresql()
    url = urllib.parse.urlsplit(database_url())
    with DelayingProxy(url.hostname, url.port or 5432) as proxy:
        env = {
            "DATABASE_URL": proxy.url_for(database_url()),
            "BETTER_AUTH_URL": jwks_server.origin,
            "API_USER_THROTTLE_RATE": "off",
        }
        # Starting waits for /health, so the worker's connection is open before anything is counted.
        with Gunicorn(env, workers=1, threads=1) as server:
            yield server, proxy


@pytest.fixture
def send(served, make_token):
    """send(method, path, body) -> (status, headers, body, round trips the request cost)."""
    server, proxy = served
    token = make_token(USER)

    def send(method, path, body=None, headers=None):
        before = proxy.round_trips
        status, headers, answer = call(method, f"{server.url}{path}", token=token, body=body, headers=headers)
        return status, headers, answer, proxy.round_trips - before

    return send


@pytest.fixture
def task_id(send):
    for number in range(3):
        status, _, answer, _ = send("POST", "/api/tasks", {"title": f"task {number}", "description": "2 litres"})
        assert status == 201
    return answer["id"]


ROUTES = [
    pytest.param("GET", "/api/tasks?limit=2", None, 200, 1, id="list"),
    pytest.param("GET", "/api/tasks/{id}", None, 200, 1, id="retrieve"),
    pytest.param("POST", "/api/tasks", {"title": "Buy milk"}, 201, 1, id="create"),
    pytest.param("PUT", "/api/tasks/{id}", {"title": "Buy oat milk", "completed": True}, 200, 1, id="update"),
    pytest.param("PATCH", "/api/tasks/{id}", {"title": "Buy oat milk"}, 200, 1, id="partial-update"),
    pytest.param("PATCH", "/api/tasks/{id}/complete", None, 200, 1, id="toggle"),
    pytest.param("DELETE", "/api/tasks/{id}", None, 204, 1, id="delete"),
]


@pytest.mark.parametrize("method, path, body, status, round_trips", ROUTES)
def test_a_request_costs_no_more_round_trips_than_the_floor(send, task_id, method, path, body, status, round_trips):
    # Twice: the first and a later request on the same kept connection cost the same.
    for _ in range(2):
        answer = send(method, path.format(id=task_id), body)
        assert (answer[0], answer[3]) == (status, round_trips), answer[2]
        if method == "DELETE":
            task_id = send("POST", "/api/tasks", {"title": "next to delete"})[2]["id"]


@pytest.mark.parametrize(
    "method, path, body",
    [("PUT", "/api/tasks/{id}", {"title": "Buy oat milk"}), ("PATCH", "/api/tasks/{id}/complete", None)],
    ids=["update", "toggle"],
)
def test_a_conditional_write_costs_one_round_trip_and_a_refused_one_two(send, task_id, method, path, body):
    """The UPDATE carries the If-Match check; only a write that matched nothing reads the task for its 412."""
    etag = send("GET", f"/api/tasks/{task_id}")[1]["ETag"]
    status, headers, _, round_trips = send(method, path.format(id=task_id), body, {"If-Match": etag})
    assert (status, round_trips) == (200, 1)
    status, _, current, round_trips = send(method, path.format(id=task_id), body, {"If-Match": etag})
    assert (status, round_trips, f'"{current["version"]}"') == (412, 2, headers["ETag"])


def test_a_deep_keyset_page_costs_one_round_trip(send, task_id):
    link = send("GET", "/api/tasks?limit=1")[1]["Link"]
    next_path = urllib.parse.urlsplit(link.split(">")[0].lstrip("<"))
    status, _, page, round_trips = send("GET", f"{next_path.path}?{next_path.query}")
    assert (status, len(page), round_trips) == (200, 1, 1)


def test_a_refused_request_costs_no_round_trip(send):
    status, _, _, round_trips = send("GET", "/api/tasks?limit=0")
    assert (status, round_trips) == (400, 0)
