"""Interoperability with the real `better-auth` npm package (1.7.7, jwt plugin).

A Node process (tasks/tests/betterauth/server.mjs) runs Better Auth on 127.0.0.1; users sign
up through its HTTP API, fetch real tokens from /api/auth/token, and use them against taskapi
served over HTTP by pytest-django's live server. Only BETTER_AUTH_URL is configured.
"""

import http.cookiejar
import json
import os
import select
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

from tasks.models import Task

from .live import call, in_ci, stop_process

ISSUER_DIR = Path(__file__).parent / "betterauth"
START_TIMEOUT = 30


def require_node():
    if shutil.which("node") and shutil.which("npm"):
        return
    if in_ci():
        pytest.fail("Node.js is required for the Better Auth interoperability test in CI")
    pytest.skip("Node.js is not installed")


@pytest.fixture(scope="session")
def better_auth_package():
    require_node()
    if not (ISSUER_DIR / "node_modules" / "better-auth").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=ISSUER_DIR,
            check=True,
            timeout=600,
        )
    return ISSUER_DIR


class BetterAuthIssuer:
    """A running Better Auth server; `sign_up()` returns a user's id and a real JWT."""

    def __init__(self, package_dir, algorithm=None):
        env = {**os.environ, "PORT": "0"}
        if algorithm:
            env["JWT_ALG"] = algorithm
        self.process = subprocess.Popen(
            ["node", "server.mjs"], cwd=package_dir, env=env, stdout=subprocess.PIPE, text=True
        )
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"Better Auth did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def stop(self):
        stop_process(self.process)

    def sign_up(self):
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        body = {"email": f"{uuid.uuid4().hex}@example.com", "password": "correct-horse-battery", "name": "Test"}
        # Better Auth refuses cookie-bearing POSTs whose Origin is not a trusted one.
        request = urllib.request.Request(
            f"{self.url}/api/auth/sign-up/email",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Origin": self.url},
        )
        with opener.open(request, timeout=10) as response:
            user_id = json.load(response)["user"]["id"]
        with opener.open(f"{self.url}/api/auth/token", timeout=10) as response:
            token = json.load(response)["token"]
        return user_id, token


@pytest.fixture(scope="module")
def issuer(better_auth_package):
    issuer = BetterAuthIssuer(better_auth_package)
    yield issuer
    issuer.stop()


@pytest.fixture
def only_better_auth_url(settings):
    """Configure nothing but BETTER_AUTH_URL (the conftest's loopback values are cleared)."""

    def configure(url):
        settings.BETTER_AUTH_URL = url
        settings.BETTER_AUTH_JWT_ALGORITHMS = ["EdDSA"]

    return configure


class API:
    """taskapi as a frontend would call it, over HTTP with one user's token."""

    def __init__(self, base_url, token):
        self.base_url = base_url
        self.token = token

    def call(self, method, path, body=None):
        status, _, data = call(method, f"{self.base_url}{path}", token=self.token, body=body)
        return status, data


def test_real_better_auth_tokens_drive_the_api(transactional_db, live_server, issuer, only_better_auth_url):
    only_better_auth_url(issuer.url)
    alice_id, alice_token = issuer.sign_up()
    bob_id, bob_token = issuer.sign_up()
    alice, bob = API(live_server.url, alice_token), API(live_server.url, bob_token)

    status, task = alice.call("POST", "/api/tasks", {"title": "Ship it", "description": "v1"})
    assert status == 201
    assert task["user_id"] == alice_id
    status, listed = alice.call("GET", "/api/tasks")
    assert (status, [t["id"] for t in listed]) == (200, [task["id"]])

    status, toggled = alice.call("PATCH", f"/api/tasks/{task['id']}/complete")
    assert (status, toggled["completed"]) == (200, True)
    status, updated = alice.call("PUT", f"/api/{alice_id}/tasks/{task['id']}", {"title": "Shipped", "description": ""})
    assert (status, updated["title"]) == (200, "Shipped")

    # Bob, a real second Better Auth user, sees nothing of Alice's and cannot touch it.
    assert bob.call("GET", "/api/tasks") == (200, [])
    assert bob.call("GET", f"/api/tasks/{task['id']}")[0] == 404
    assert bob.call("PATCH", f"/api/tasks/{task['id']}/complete")[0] == 404
    assert bob.call("DELETE", f"/api/tasks/{task['id']}")[0] == 404
    assert bob.call("GET", f"/api/{alice_id}/tasks")[0] == 403
    status, bobs = bob.call("POST", f"/api/{bob_id}/tasks", {"title": "Bob's"})
    assert (status, bobs["user_id"]) == (201, bob_id)

    assert alice.call("DELETE", f"/api/tasks/{task['id']}") == (204, None)
    assert list(Task.objects.values_list("user_id", flat=True)) == [bob_id]


def test_tampered_better_auth_token_is_rejected(transactional_db, live_server, issuer, only_better_auth_url):
    only_better_auth_url(issuer.url)
    _, token = issuer.sign_up()
    header, payload, signature = token.split(".")
    forged = API(live_server.url, f"{header}.{payload}.{signature[::-1]}")
    status, body = forged.call("GET", "/api/tasks")
    assert status == 401
    assert body["code"] == "token_not_valid"


@pytest.mark.parametrize("algorithm", ["ES256", "ES512", "RS256", "PS256"])
def test_other_better_auth_key_algorithms_are_accepted(
    transactional_db, live_server, better_auth_package, settings, only_better_auth_url, algorithm
):
    other = BetterAuthIssuer(better_auth_package, algorithm=algorithm)
    try:
        only_better_auth_url(other.url)
        settings.BETTER_AUTH_JWT_ALGORITHMS = [algorithm]
        user_id, token = other.sign_up()
        status, task = API(live_server.url, token).call("POST", "/api/tasks", {"title": algorithm})
        assert (status, task["user_id"]) == (201, user_id)
    finally:
        other.stop()
