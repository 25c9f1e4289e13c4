"""Clients generated from the OpenAPI document, driven through a two-user session on a live server.

TypeScript: openapi-typescript types and openapi-fetch calls (clients/typescript/, pinned by its
package-lock.json), compiled with `tsc --strict`, then run with Node. Python: openapi-python-client.
Both are generated here from the document the server serves; nothing generated is committed.
Tokens are really signed and verified against the loopback JWKS. The sessions are functions of
the server's URL and two users with no tasks yet: test_instances.py runs them through the balancer.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from datetime import date

import pytest

from .live import PROJECT_DIR

TYPESCRIPT_DIR = PROJECT_DIR / "clients" / "typescript"
USERS = ("client-user-a", "client-user-b")
# Small enough that the session's oversized body (20 KB) is sent whole before the 413 arrives;
# with a body larger than the socket buffers the client could see the connection close mid-send.
MAX_BODY_BYTES = 8192


@pytest.fixture
def live_api(start_live_api):
    return start_live_api(API_MAX_BODY_BYTES=str(MAX_BODY_BYTES))


def served_document(url):
    with urllib.request.urlopen(f"{url}/api/schema/?format=json", timeout=10) as response:
        return json.loads(response.read())


def run(command, cwd, **kwargs):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return result


def require_node():
    if shutil.which("npm") and shutil.which("node"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("Node.js (node, npm) is required in CI")
    pytest.skip("needs Node.js (node, npm)")


def typescript_session(url, make_token, users):
    """Generates the TypeScript client from the document `url` serves, compiles it with `tsc
    --strict` and runs clients/typescript/src/session.ts as `users` (two ids without tasks)."""
    require_node()
    build = TYPESCRIPT_DIR / "build"
    build.mkdir(exist_ok=True)
    (build / "openapi.json").write_text(json.dumps(served_document(url)))
    if not (TYPESCRIPT_DIR / "node_modules" / ".package-lock.json").exists():
        run(["npm", "ci", "--no-audit", "--no-fund"], TYPESCRIPT_DIR)
    run(["npm", "run", "--silent", "generate"], TYPESCRIPT_DIR)
    run(["npm", "run", "--silent", "build"], TYPESCRIPT_DIR)
    user_a, user_b = users
    env = {
        **os.environ,
        "TASKAPI_URL": url,
        "TASKAPI_USER_A": user_a,
        "TASKAPI_TOKEN_A": make_token(user_a),
        "TASKAPI_TOKEN_B": make_token(user_b),
    }
    result = run(["npm", "run", "--silent", "session"], TYPESCRIPT_DIR, env=env)
    assert "typescript client session: ok" in result.stdout


def test_typescript_client_session_compiles_strictly_and_runs(live_api, make_token):
    typescript_session(live_api.url, make_token, USERS)


@contextlib.contextmanager
def generated_python_client(url, directory):
    """The package openapi-python-client generates in `directory` from the document `url` serves,
    importable as `taskapi_client` until the block ends."""
    document = directory / "openapi.json"
    document.write_text(json.dumps(served_document(url)))
    generator = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document), "--meta", "none"]
    run([*generator, "--output-path", str(directory / "taskapi_client")], directory)
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        for name in [name for name in sys.modules if name.split(".")[0] == "taskapi_client"]:
            del sys.modules[name]


def test_python_client_session_covers_every_operation(live_api, make_token, tmp_path):
    python_client_session(live_api.url, make_token, USERS, tmp_path)


def python_client_session(url, make_token, users, directory):
    """Generates the Python client (in `directory`) from the document `url` serves and calls every
    operation through it as `users` (two ids without tasks)."""
    with generated_python_client(url, directory):
        every_operation_through_the_python_client(url, make_token, *users)


def every_operation_through_the_python_client(url, make_token, user_a, user_b):
    from taskapi_client import AuthenticatedClient, Client
    from taskapi_client.api.tasks import (
        bulk_tasks,
        create_task,
        delete_task,
        get_task,
        get_task_stats,
        list_tasks,
        replace_task,
        toggle_task,
        update_task,
    )
    from taskapi_client.api.tasks_by_user_id import list_tasks_by_user_id
    from taskapi_client.models import (
        BulkCompleteRequest,
        BulkDeleteRequest,
        Error,
        PatchedTaskRequest,
        PreconditionFailed,
        PriorityEnum,
        Task,
        TaskRequest,
        ValidationError,
    )

    alice = AuthenticatedClient(base_url=url, token=make_token(user_a))
    bob = AuthenticatedClient(base_url=url, token=make_token(user_b))

    created = create_task.sync_detailed(client=alice, body=TaskRequest(title="Buy milk"), idempotency_key="py-create-1")
    assert created.status_code == 201 and isinstance(created.parsed, Task)
    milk = created.parsed
    assert (milk.tags, milk.description, milk.completed) == ([], "", False)
    assert created.headers["ETag"] == f'"{milk.version}"'
    replay = create_task.sync_detailed(client=alice, body=TaskRequest(title="Buy milk"), idempotency_key="py-create-1")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.content == created.content
    reused = create_task.sync_detailed(client=alice, body=TaskRequest(title="Else"), idempotency_key="py-create-1")
    assert reused.status_code == 422 and reused.parsed.code == "idempotency_key_reused"

    trip = create_task.sync(
        client=alice,
        body=TaskRequest(title="Plan trip", priority=PriorityEnum.HIGH, due_at=date(2026, 12, 1), tags=["travel"]),
    )
    assert trip.due_at.isoformat() == "2026-12-01T23:59:59+00:00"
    blank = create_task.sync_detailed(client=alice, body=TaskRequest(title="   "))
    assert blank.status_code == 400 and isinstance(blank.parsed, ValidationError)
    assert blank.parsed.code == "blank" and blank.parsed.additional_properties["title"]

    page = list_tasks.sync_detailed(client=alice, completed=False, ordering="title", limit=1)
    assert [task.id for task in page.parsed] == [milk.id] and 'rel="next"' in page.headers["Link"]
    assert [t.id for t in list_tasks.sync(client=alice, tag=["TRAVEL"], due_before=date(2026, 12, 2))] == [trip.id]
    assert list_tasks.sync_detailed(client=alice, ordering="owner").parsed.code == "invalid"

    fetched = get_task.sync_detailed(milk.id, client=alice)
    etag = fetched.headers["ETag"]
    assert get_task.sync_detailed(milk.id, client=alice, if_none_match=etag).status_code == 304
    replaced = replace_task.sync(milk.id, client=alice, body=TaskRequest(title="Buy oat milk"), if_match=etag)
    assert replaced.version == milk.version + 1
    stale = update_task.sync_detailed(milk.id, client=alice, body=PatchedTaskRequest(title="Lost"), if_match=etag)
    assert stale.status_code == 412 and isinstance(stale.parsed, PreconditionFailed)
    assert stale.parsed.code == "precondition_failed" and stale.headers["ETag"] == f'"{replaced.version}"'
    assert (
        update_task.sync(milk.id, client=alice, body=PatchedTaskRequest(priority=PriorityEnum.LOW)).title
        == "Buy oat milk"
    )
    assert toggle_task.sync(milk.id, client=alice).completed is True
    assert toggle_task.sync_detailed(milk.id, client=alice, if_match=etag).status_code == 412
    assert get_task_stats.sync(client=alice).total == 2

    for call in (
        lambda: get_task.sync_detailed(milk.id, client=bob),
        lambda: update_task.sync_detailed(milk.id, client=bob, body=PatchedTaskRequest(title="mine")),
        lambda: toggle_task.sync_detailed(milk.id, client=bob),
        lambda: delete_task.sync_detailed(milk.id, client=bob),
        lambda: bulk_tasks.sync_detailed(client=bob, body=BulkDeleteRequest(delete=[milk.id])),
    ):
        answer = call()
        assert answer.status_code == 404 and isinstance(answer.parsed, Error) and answer.parsed.code == "not_found"
    assert list_tasks.sync(client=bob) == []
    forbidden = list_tasks_by_user_id.sync_detailed(user_a, client=bob)
    assert forbidden.status_code == 403 and forbidden.parsed.code == "user_mismatch"
    assert [t.id for t in list_tasks_by_user_id.sync(user_a, client=alice, completed=True)] == [milk.id]

    anonymous = list_tasks.sync_detailed(client=Client(base_url=url))
    assert anonymous.status_code == 401 and anonymous.parsed.code == "not_authenticated"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert bulk_tasks.sync_detailed(client=alice, body=BulkCompleteRequest(complete=[])).parsed.code == "min_length"
    assert bulk_tasks.sync(client=alice, body=BulkCompleteRequest(complete=[trip.id])).count == 1
    assert delete_task.sync_detailed(trip.id, client=alice, if_match='"999"').status_code == 412
    assert delete_task.sync_detailed(trip.id, client=alice).status_code == 204
    assert get_task.sync_detailed(trip.id, client=alice).parsed.code == "not_found"
