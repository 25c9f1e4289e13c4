"""The container image, run for real with podman: `migrate` in it, then the API through it.

Runs when TASKAPI_CONTAINER_IMAGE names a built image (CI's container stage builds one, see
`.ci/container.sh`); the container shares the host's network, so it reaches this machine's
PostgreSQL and Redis and the JWKS the fixtures serve on 127.0.0.1. Once an image is named,
a missing podman or image fails the module instead of skipping it.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import psycopg2
import pytest
from django.conf import settings

from .live import call, free_port

IMAGE = os.environ.get("TASKAPI_CONTAINER_IMAGE", "")
MAX_IMAGE_BYTES = 250 * 1000 * 1000

pytestmark = pytest.mark.skipif(not IMAGE, reason="set TASKAPI_CONTAINER_IMAGE to a built image (CI does)")


def podman(*args, env=None, timeout=120):
    return subprocess.run(["podman", *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def image():
    if shutil.which("podman") is None:
        pytest.fail("TASKAPI_CONTAINER_IMAGE is set but podman is not installed")
    if podman("image", "exists", IMAGE).returncode != 0:
        pytest.fail(f"image {IMAGE} not found: build it first (see README, 'Deploying')")
    return IMAGE


@pytest.fixture(scope="module")
def image_database():
    """A fresh, empty database on the test server, for the image's own `migrate` to fill."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the container tests need PostgreSQL (set DATABASE_URL)")
    name = f"{db['NAME']}_image_{uuid.uuid4().hex[:8]}"
    server = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"]}
    admin = psycopg2.connect(dbname="postgres", password=db["PASSWORD"], **server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{server['host']}:{server['port']}/{name}"
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="module")
def container_env(image_database, session_jwks_server):
    """The deploy's environment, handed to podman by name only (`--env NAME`), so no value
    (the secret key included) appears on a command line."""
    port = free_port()
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": image_database,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "BETTER_AUTH_URL": session_jwks_server.origin,
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }


def run_args(env):
    return ["--network=host", *(arg for name in env for arg in ("--env", name))]


@pytest.fixture(scope="module")
def migrated(image, container_env):
    """The release step, run from the image exactly as a platform would run it."""
    result = podman(
        "run",
        "--rm",
        *run_args(container_env),
        image,
        "python",
        "manage.py",
        "migrate_safely",
        env={**os.environ, **container_env},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@contextlib.contextmanager
def running_container(image, env, *command):
    """A detached container of `image` (its own command unless one is given); its name."""
    name = f"taskapi-test-{uuid.uuid4().hex[:12]}"
    started = podman("run", "--detach", "--name", name, *run_args(env), image, *command, env={**os.environ, **env})
    assert started.returncode == 0, started.stderr
    try:
        yield name
    finally:
        podman("rm", "--force", "--time", "10", name)


@pytest.fixture(scope="module")
def web(image, container_env, migrated):
    """The image's own command (gunicorn), until /health answers; its base URL and name."""
    with running_container(image, container_env) as name:
        url = f"http://127.0.0.1:{container_env['PORT']}"
        wait_until_serving(url, name)
        yield {"url": url, "name": name}


def wait_until_serving(url, name, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.5)
    logs = podman("logs", name).stdout[-4000:]
    raise AssertionError(f"the container did not serve {url}/health within {timeout}s:\n{logs}")


@pytest.fixture
def user_id():
    """A new user per test: the rate limit's Redis keys embed it, so runs never share counters."""
    return f"container-{uuid.uuid4().hex}"


def test_release_step_applies_the_migrations_in_the_image(migrated):
    assert "Applying tasks.0001" in migrated


def test_health_reports_the_database_reachable(web):
    status, _, body = call("GET", f"{web['url']}/health")
    assert status == 200
    assert body["status"] == "healthy" and body["database"] == "ok"


def test_image_healthcheck_passes_against_the_running_container(web):
    result = podman("healthcheck", "run", web["name"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_healthcheck_counts_a_database_outage_as_alive(image, container_env):
    """Liveness, not readiness: an unreachable database must not get the instance restarted."""
    env = {
        **container_env,
        "PORT": str(free_port()),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/none",
    }
    with running_container(image, env) as name:
        url = f"http://127.0.0.1:{env['PORT']}"
        wait_until_serving(url, name)
        status, _, body = call("GET", f"{url}/health")
        assert status == 503 and body["status"] == "unhealthy"
        result = podman("healthcheck", "run", name)
        assert result.returncode == 0, result.stdout + result.stderr


def test_image_healthcheck_fails_when_nothing_answers(image, container_env):
    env = {**container_env, "PORT": str(free_port())}
    with running_container(image, env, "sleep", "60") as name:
        result = podman("healthcheck", "run", name)
        assert result.returncode != 0


def test_request_without_token_is_refused(web):
    status, headers, body = call("GET", f"{web['url']}/api/tasks")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in body


def test_task_lifecycle_through_the_image_with_a_really_signed_token(web, make_token, user_id):
    token = make_token(user_id)
    tasks_url = f"{web['url']}/api/tasks"

    status, _, created = call("POST", tasks_url, token=token, body={"title": "Ship the image"})
    assert status == 201
    assert created["title"] == "Ship the image" and created["completed"] is False
    assert created["user_id"] == user_id

    status, _, listed = call("GET", tasks_url, token=token)
    assert status == 200
    assert [task["id"] for task in listed] == [created["id"]]

    status, _, toggled = call("PATCH", f"{tasks_url}/{created['id']}/complete", token=token)
    assert status == 200 and toggled["completed"] is True

    status, _, _ = call("DELETE", f"{tasks_url}/{created['id']}", token=token)
    assert status == 204
    status, _, listed = call("GET", tasks_url, token=token)
    assert status == 200 and listed == []


def test_another_users_task_is_not_found_through_the_image(web, make_token, user_id):
    tasks_url = f"{web['url']}/api/tasks"
    status, _, created = call("POST", tasks_url, token=make_token(user_id), body={"title": "Mine"})
    assert status == 201
    other = make_token(f"{user_id}-other")
    status, _, _ = call("GET", f"{tasks_url}/{created['id']}", token=other)
    assert status == 404
    status, _, listed = call("GET", tasks_url, token=other)
    assert status == 200 and listed == []


def test_static_files_were_collected_at_build_time(web):
    with urllib.request.urlopen(f"{web['url']}/api/docs/", timeout=10) as response:
        page = response.read().decode()
    # A content hash in the name comes from collectstatic's manifest, written into the image.
    bundle = re.search(r"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle\.[0-9a-f]{12}\.js", page)
    assert bundle is not None, page[:2000]
    with urllib.request.urlopen(f"{web['url']}{bundle.group()}", timeout=10) as response:
        assert response.status == 200
        assert "max-age=315360000" in response.headers["Cache-Control"]


def test_service_runs_as_an_unprivileged_user_that_cannot_change_the_code(web):
    result = podman(
        "exec", web["name"], "sh", "-c", "id -u; if touch /app/manage.py 2>/dev/null; then echo writable; fi"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["10001"]


def test_image_carries_no_secret_and_stays_small(image):
    result = podman("image", "inspect", image)
    assert result.returncode == 0, result.stderr
    (inspected,) = json.loads(result.stdout)
    config = inspected["Config"]
    names = {entry.split("=", 1)[0] for entry in config.get("Env", [])}
    assert not names & {"DJANGO_SECRET_KEY", "BETTER_AUTH_SECRET", "DATABASE_URL", "REDIS_URL"}
    assert config["User"] == "taskapi:taskapi"
    # podman reports a Docker-format image's HEALTHCHECK beside Config, not inside it.
    assert "/health" in " ".join(inspected["Healthcheck"]["Test"])
    assert inspected["Size"] < MAX_IMAGE_BYTES
