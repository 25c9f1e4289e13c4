"""Real servers for tests that need real processes: gunicorn serving taskapi on 127.0.0.1."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import namedtuple
from pathlib import Path

import pytest
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[2]


def in_ci():
    """CI=true (or 1, yes, on) as CI services set it; CI=false and CI=0 mean a developer's run."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def stop_process(process, timeout=15):
    """SIGTERM, and SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_postgresql():
    """Subprocesses cannot see pytest's in-memory SQLite database, only a real server's."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def database_url(settings_dict=None):
    """The URL of the database the tests are using right now (pytest's test database)."""
    db = settings_dict or connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def app_env(jwks_server, **overrides):
    """A served taskapi's environment: pytest's test database, the loopback JWKS, no throttling."""
    return {
        "DATABASE_URL": database_url(),
        "BETTER_AUTH_URL": jwks_server.origin,
        "API_USER_THROTTLE_RATE": "off",
        **overrides,
    }


class LiveServer:
    """A server process answering on a free loopback port, stopped by `stop()` (or `with`)."""

    def __init__(self, command, env, *, start_timeout=30):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="taskapi-live-", suffix=".log", delete=False)
        # gunicorn.conf.py refuses to serve with DEBUG off and no secret key. Its worker recycling
        # (GUNICORN_MAX_REQUESTS) is off unless a test asks for it: fault and load tests send
        # thousands of quick requests and check that no worker was replaced.
        full_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "taskapi.settings",
            "DJANGO_SECRET_KEY": "test-" + secrets.token_urlsafe(40),
            "GUNICORN_MAX_REQUESTS": "0",
            **env,
        }
        self.process = subprocess.Popen(
            [arg.replace("{port}", str(self.port)) for arg in command],
            cwd=PROJECT_DIR,
            env={name: value.replace("{port}", str(self.port)) for name, value in full_env.items()},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_serving(start_timeout)

    def wait_until_serving(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.__class__.__name__} exited: {self.output()}")
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # serving, even if unhealthy
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.__class__.__name__} did not start in {timeout}s: {self.output()}")

    def output(self):
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self):
        stop_process(self.process)
        self.log.close()
        os.unlink(self.log.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Gunicorn(LiveServer):
    """taskapi under gunicorn alone (reading gunicorn.conf.py) on a free loopback port."""

    def __init__(self, env, *, workers=2, threads=4, start_timeout=30):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "taskapi.wsgi",
            "--bind",
            "127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
        ]
        super().__init__(command, env, start_timeout=start_timeout)


def require_nginx():
    if shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin"):
        return
    if in_ci():
        pytest.fail("nginx is required in CI (.ci/run installs it)")
    pytest.skip("nginx is not installed (apt-get install nginx)")


class ProxiedWeb(LiveServer):
    """The Procfile's web process (deploy/web.py): nginx on a free loopback port, gunicorn behind it."""

    def __init__(self, env, *, start_timeout=30):
        require_nginx()
        env = {"PORT": "{port}", "WEB_BIND_HOST": "127.0.0.1", **env}
        super().__init__([sys.executable, "deploy/web.py"], env, start_timeout=start_timeout)


def call(method, url, *, token=None, body=None, headers=None, timeout=10):
    """One HTTP request; returns (status, headers, parsed JSON body or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, parse_json(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, parse_json(error.read())


def parse_json(raw):
    return json.loads(raw) if raw else None


def raw_request(port, request, timeout=10):
    """Sends raw bytes to 127.0.0.1:`port` and reads until the server closes; returns (status,
    headers text, body bytes). For requests no HTTP client would send."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), head.decode("latin-1"), body


Answer = namedtuple("Answer", "method path status content_type body seconds")


class Load:
    """Threads sending `routes` ((method, path, body) in turn) until stopped; every answer is kept.

    An answer's status is None when the connection failed or timed out, or the answer was not JSON
    (a proxy's own page, say).
    """

    def __init__(self, url, token, routes, *, threads=4, timeout=30):
        self.url, self.token, self.routes, self.timeout = url, token, routes, timeout
        self.answers, self.lock = [], threading.Lock()
        self.running = True
        self.threads = [threading.Thread(target=self.work, args=(n,)) for n in range(threads)]

    def work(self, n):
        i = n
        while self.running:
            method, path, body = self.routes[i % len(self.routes)]
            i += 1
            started = time.monotonic()
            try:
                status, headers, answer = call(
                    method, f"{self.url}{path}", token=self.token, body=body, timeout=self.timeout
                )
            except (OSError, ValueError) as e:
                status, headers, answer = None, {}, repr(e)
            with self.lock:
                self.answers.append(
                    Answer(method, path, status, headers.get("Content-Type"), answer, time.monotonic() - started)
                )

    @property
    def acknowledged(self):
        """Ids of the tasks whose creation was answered 201."""
        with self.lock:
            return [answer.body["id"] for answer in self.answers if answer.status == 201]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        for thread in self.threads:
            thread.join(timeout=self.timeout + 30)
