"""The floor: taskapi's routes with no framework, measured in the same run as the service.

One persistent psycopg2 connection per worker, PyJWT with the public keys fetched once per
worker, the statements Django's ORM emits for each route (the same ones, as many), `json.dumps`.
It is a yardstick, not a product: no CORS, throttling, body limit or careful error shapes.
Run it like the service: `gunicorn bench.floor_app:application`, with DATABASE_URL and BETTER_AUTH_URL.
"""

import base64
import json
import os
import re
import urllib.request
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode

import jwt
import psycopg2

FIELDS = (
    "id",
    "user_id",
    "title",
    "description",
    "completed",
    "priority",
    "due_at",
    "tags",
    "tag_keys",
    "version",
    "created_at",
    "updated_at",
)
COLUMNS = ", ".join(FIELDS)
CREATED_AT, ID = FIELDS.index("created_at"), FIELDS.index("id")
ORDER = "ORDER BY created_at DESC, id DESC LIMIT %s"
FIRST_PAGE = f"SELECT {COLUMNS} FROM tasks_task WHERE user_id = %s {ORDER}"
LATER_PAGE = (
    f"SELECT {COLUMNS} FROM tasks_task WHERE (user_id = %s AND created_at <= %s "
    f"AND (created_at < %s OR (created_at = %s AND id < %s))) {ORDER}"
)
ONE_TASK = f"SELECT {COLUMNS} FROM tasks_task WHERE (user_id = %s AND id = %s) LIMIT 21"
INSERT = (
    "INSERT INTO tasks_task (user_id, title, description, completed, priority, due_at, tags, tag_keys, version, "
    "created_at, updated_at) VALUES (%s, %s, %s, %s, 2, NULL, '[]', '{}', 1, %s, %s) RETURNING id"
)
UPDATE = (
    "UPDATE tasks_task SET title = %s, description = %s, completed = %s, version = (version + 1), "
    "updated_at = %s WHERE id = %s"
)
TOGGLE = (
    "UPDATE tasks_task SET completed = NOT completed, updated_at = STATEMENT_TIMESTAMP(), version = (version + 1) "
    "WHERE (user_id = %s AND id = %s)"
)
DELETE = "DELETE FROM tasks_task WHERE id = %s"
PRIORITIES = {1: "low", 2: "medium", 3: "high"}
ROUTE = re.compile(r"^/api/tasks(?:/(?P<id>[0-9]+))?(?P<complete>/complete)?/?$")
DEFAULT_LIMIT = 100
ORIGIN = os.environ.get("BETTER_AUTH_URL", "").rstrip("/")


class HTTPError(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status


class Database:
    """The worker's one connection, opened on first use (after gunicorn forks)."""

    connection = None

    @classmethod
    def run(cls, sql, params):
        if cls.connection is None:
            cls.connection = psycopg2.connect(os.environ["DATABASE_URL"], options="-c timezone=UTC")
            cls.connection.autocommit = True
        with cls.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else cursor.rowcount


class Keys:
    """Better Auth's public keys by kid, fetched once per worker."""

    by_kid = {}

    @classmethod
    def get(cls, kid):
        if kid not in cls.by_kid:
            with urllib.request.urlopen(f"{ORIGIN}/api/auth/jwks", timeout=3) as response:
                key_set = jwt.PyJWKSet.from_json(response.read().decode())
            cls.by_kid = {key.key_id: key for key in key_set.keys}
        return cls.by_kid[kid]


def caller(environ):
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPError(401, "Authentication credentials were not provided.")
    try:
        key = Keys.get(jwt.get_unverified_header(token).get("kid"))
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            audience=ORIGIN,
            issuer=ORIGIN,
            leeway=10,
            options={"require": ["exp", "sub"]},
        )
    except (jwt.InvalidTokenError, KeyError) as e:
        raise HTTPError(401, "Invalid token.") from e
    return claims["sub"]


def as_json(row):
    task = dict(zip(FIELDS, row, strict=True))
    del task["tag_keys"]
    task["priority"] = PRIORITIES[task["priority"]]
    for name in ("due_at", "created_at", "updated_at"):
        task[name] = task[name].isoformat().replace("+00:00", "Z") if task[name] else None
    return task


def cursor_of(row):
    payload = {"o": "-created_at,-id", "v": [row[CREATED_AT].isoformat(), row[ID]]}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def position_in(raw):
    created_at, task_id = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["v"]
    return datetime.fromisoformat(created_at), int(task_id)


def list_tasks(environ, user):
    query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    limit = int(query.get("limit", DEFAULT_LIMIT))
    if "cursor" in query:
        try:
            created_at, task_id = position_in(query["cursor"])
        except (ValueError, TypeError) as e:
            raise HTTPError(400, "Invalid cursor.") from e
        rows = Database.run(LATER_PAGE, (user, created_at, created_at, created_at, task_id, limit + 1))
    else:
        rows = Database.run(FIRST_PAGE, (user, limit + 1))
    headers = []
    if len(rows) > limit:
        next_query = urlencode(sorted({**query, "cursor": cursor_of(rows[limit - 1])}.items()))
        url = f"http://{environ['HTTP_HOST']}{environ['PATH_INFO']}?{next_query}"
        headers.append(("Link", f'<{url}>; rel="next"'))
    return 200, [as_json(row) for row in rows[:limit]], headers


def one_task(user, task_id):
    rows = Database.run(ONE_TASK, (user, task_id))
    if not rows:
        raise HTTPError(404, "No Task matches the given query.")
    return rows[0]


def task_fields(body, current=None):
    if not isinstance(body, dict) or not isinstance(body.get("title"), str) or not body["title"].strip():
        raise HTTPError(400, "title: a non-empty string is required.")
    description = body.get("description", current[FIELDS.index("description")] if current else "")
    completed = body.get("completed", current[FIELDS.index("completed")] if current else False)
    return body["title"].strip()[:200], description or "", bool(completed)


def create_task(user, body):
    now = datetime.now(timezone.utc)
    title, description, completed = task_fields(body)
    [(task_id,)] = Database.run(INSERT, (user, title, description, completed, now, now))
    return 201, as_json((task_id, user, title, description, completed, 2, None, [], {}, 1, now, now)), []


def update_task(user, task_id, body):
    current = list(one_task(user, task_id))
    title, description, completed = task_fields(body, current)
    now = datetime.now(timezone.utc)
    Database.run(UPDATE, (title, description, completed, now, task_id))
    for name, value in (("title", title), ("description", description), ("completed", completed), ("updated_at", now)):
        current[FIELDS.index(name)] = value
    current[FIELDS.index("version")] += 1
    return 200, as_json(current), []


def toggle_task(user, task_id):
    if not Database.run(TOGGLE, (user, task_id)):
        raise HTTPError(404, "No Task matches the given query.")
    return 200, as_json(one_task(user, task_id)), []


def delete_task(user, task_id):
    one_task(user, task_id)
    Database.run(DELETE, (task_id,))
    return 204, None, []


def dispatch(environ):
    match = ROUTE.match(environ["PATH_INFO"])
    if match is None:
        raise HTTPError(404, "Not found.")
    user, method = caller(environ), environ["REQUEST_METHOD"]
    task_id = int(match["id"]) if match["id"] else None
    if match["complete"] and task_id and method == "PATCH":
        return toggle_task(user, task_id)
    if task_id is None and method == "GET":
        return list_tasks(environ, user)
    if task_id is None and method == "POST":
        return create_task(user, read_json(environ))
    if task_id and method == "GET":
        return 200, as_json(one_task(user, task_id)), []
    if task_id and method == "PUT":
        return update_task(user, task_id, read_json(environ))
    if task_id and method == "DELETE":
        return delete_task(user, task_id)
    raise HTTPError(405, "Method not allowed.")


def read_json(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        return json.loads(environ["wsgi.input"].read(length))
    except ValueError as e:
        raise HTTPError(400, "JSON parse error.") from e


def application(environ, start_response):
    try:
        status, body, headers = dispatch(environ)
    except HTTPError as e:
        status, body, headers = e.status, {"detail": str(e)}, []
    payload = b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers += [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    start_response(f"{status} {'OK' if status < 400 else 'Error'}", headers)
    return [payload]
