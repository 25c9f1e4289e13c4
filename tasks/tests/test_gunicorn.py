"""Production serving: gunicorn with gunicorn.conf.py, static files collected and served by whitenoise."""

import json
import os
import re
import runpy
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from .live import PROJECT_DIR, free_port, stop_process


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers, response.read()


def wait_for_health(url, process, deadline=20):
    until = time.monotonic() + deadline
    while time.monotonic() < until and process.poll() is None:
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer {url} within {deadline}s")


@pytest.fixture(scope="module")
def production_env(tmp_path_factory, collected_static):
    """The environment of a deploy: DEBUG off, a real secret, collected static files."""
    tmp_path = tmp_path_factory.mktemp("deploy")
    return {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "gunicorn-test-" + os.urandom(24).hex(),
        "DJANGO_STATIC_ROOT": str(collected_static),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BETTER_AUTH_URL": "http://127.0.0.1:3000",
        "WEB_CONCURRENCY": "1",
    }


@pytest.fixture
def gunicorn(production_env):
    """A gunicorn started as the Procfile starts it, on a free loopback port; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "taskapi.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=PROJECT_DIR,
        env=production_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = {"url": f"http://127.0.0.1:{port}", "process": process}
    yield server
    stop_process(process)


def test_gunicorn_serves_the_api_and_hashed_admin_assets(gunicorn):
    status, headers, body = wait_for_health(f"{gunicorn['url']}/health", gunicorn["process"])
    assert status == 200 and json.loads(body)["status"] == "healthy"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])

    _, _, login_page = get(f"{gunicorn['url']}/admin/login/")
    stylesheet = re.search(rb"/static/admin/css/base\.[0-9a-f]{12}\.css", login_page).group().decode()
    status, headers, css = get(gunicorn["url"] + stylesheet)
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert "immutable" in headers["Cache-Control"]
    assert b"body" in css


def test_gunicorn_logs_one_json_line_per_request(gunicorn):
    status, headers, _ = wait_for_health(f"{gunicorn['url']}/health?check=1", gunicorn["process"])
    gunicorn["process"].terminate()
    output, _ = gunicorn["process"].communicate(timeout=15)
    lines = [json.loads(line) for line in output.splitlines()]
    about_the_request = [line for line in lines if headers["X-Request-ID"] in json.dumps(line)]
    assert len(about_the_request) == 1
    assert about_the_request[0]["logger"] == "tasks.middleware"
    assert (about_the_request[0]["path"], about_the_request[0]["status"]) == ("/health", status)
    assert not [line for line in lines if line["logger"] == "gunicorn.access"]


def test_gunicorn_settings_come_from_the_environment(monkeypatch, tmp_path):
    # Set, so that reading the file does not make a metrics directory for this process.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name, value in {
        "PORT": "5001",
        "WEB_CONCURRENCY": "5",
        "GUNICORN_THREADS": "4",
        "GUNICORN_TIMEOUT": "60",
        "GUNICORN_GRACEFUL_TIMEOUT": "20",
        "GUNICORN_KEEPALIVE": "2",
        "GUNICORN_MAX_REQUESTS": "500",
        "GUNICORN_MAX_REQUESTS_JITTER": "25",
    }.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(PROJECT_DIR / "gunicorn.conf.py"))
    assert (config["bind"], config["workers"], config["threads"]) == ("0.0.0.0:5001", 5, 4)
    assert (config["timeout"], config["graceful_timeout"], config["keepalive"]) == (60, 20, 2)
    assert (config["max_requests"], config["max_requests_jitter"]) == (500, 25)
    assert config["accesslog"] is None


def test_gunicorn_binds_to_the_socket_deploy_web_gives_it(monkeypatch):
    monkeypatch.setenv("PORT", "5001")
    monkeypatch.setenv("GUNICORN_BIND", "unix:/tmp/taskapi-web-x/gunicorn.sock")
    config = runpy.run_path(str(PROJECT_DIR / "gunicorn.conf.py"))
    assert config["bind"] == "unix:/tmp/taskapi-web-x/gunicorn.sock"


def test_the_procfile_runs_the_proxied_topology():
    lines = dict(line.split(": ", 1) for line in (PROJECT_DIR / "Procfile").read_text().splitlines())
    assert lines["web"] == "python deploy/web.py"


def test_gunicorn_defaults_without_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in (
        "PORT",
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "GUNICORN_TIMEOUT",
        "GUNICORN_GRACEFUL_TIMEOUT",
        "GUNICORN_MAX_REQUESTS",
        "GUNICORN_MAX_REQUESTS_JITTER",
        "GUNICORN_BIND",
    ):
        monkeypatch.delenv(name, raising=False)
    config = runpy.run_path(str(PROJECT_DIR / "gunicorn.conf.py"))
    assert (config["bind"], config["workers"], config["threads"], config["timeout"]) == ("0.0.0.0:8000", 2, 1, 30)
    assert (config["graceful_timeout"], config["max_requests"], config["max_requests_jitter"]) == (30, 1000, 100)
