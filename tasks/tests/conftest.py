"""Fixtures: really signed tokens, a JWKS really served over HTTP on 127.0.0.1, API clients."""

import io
import os
import subprocess
import sys
import time

import jwt
import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.test.utils import override_settings
from rest_framework.test import APIClient

from tasks import circuit
from tasks.backends import token_backend
from tasks.models import Task

from .forged_tokens import Forge
from .keys import ALGORITHMS, JWKSServer, SigningKey
from .live import PROJECT_DIR, Gunicorn, app_env, require_postgresql


@pytest.fixture(scope="session", autouse=True)
def no_local_env_file():
    """Servers and commands the tests start see the environment they are given, not a developer's .env."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_DOTENV_FILE", "")
        yield


@pytest.fixture(scope="session", autouse=True)
def static_files_from_finders():
    """Tests serve admin and Swagger UI assets straight from the apps, as runserver does.

    Production's manifest storage needs `collectstatic` first; test_gunicorn.py covers that path.
    """
    storages = {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, STATIC_ROOT=None, WHITENOISE_USE_FINDERS=True):
        yield


@pytest.fixture(autouse=True)
def closed_circuits():
    """Each test starts with every dependency trusted again (breakers are per process)."""
    circuit.reset_all()
    yield
    circuit.reset_all()


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """A DJANGO_STATIC_ROOT filled by `collectstatic`, as a release has it, for real servers (gunicorn)."""
    root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "DJANGO_STATIC_ROOT": str(root), "BETTER_AUTH_URL": "http://127.0.0.1:3000"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    return root


@pytest.fixture(scope="session")
def session_keys():
    return {algorithm: SigningKey(algorithm) for algorithm in ALGORITHMS}


@pytest.fixture(scope="session")
def session_jwks_server():
    server = JWKSServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def jwks_server(session_jwks_server, session_keys):
    session_jwks_server.reset(session_keys.values())
    return session_jwks_server


@pytest.fixture(autouse=True)
def better_auth_settings(settings, jwks_server):
    """Every test verifies against the loopback JWKS, with a fresh per-process key cache."""
    settings.BETTER_AUTH_URL = jwks_server.origin
    settings.BETTER_AUTH_JWKS_URL = ""
    settings.BETTER_AUTH_JWT_ISSUER = ""
    settings.BETTER_AUTH_JWT_AUDIENCE = ""
    settings.BETTER_AUTH_JWT_ALGORITHMS = ["EdDSA"]
    settings.BETTER_AUTH_SECRET = ""
    settings.BETTER_AUTH_JWT_LEEWAY = 10
    # Throttling has its own tests; elsewhere it would only count the suite's requests.
    settings.API_USER_THROTTLE_RATE = None
    token_backend.cache_clear()
    yield settings
    token_backend.cache_clear()


@pytest.fixture
def signing_key(session_keys):
    return session_keys["EdDSA"]


@pytest.fixture
def make_token(jwks_server, signing_key):
    """make_token(sub, key=..., headers=..., **claims): a Better Auth-shaped, really signed JWT.

    A claim given as None is left out.
    """

    def make(sub="user-a", *, key=None, headers=None, secret=None, **claims):
        now = int(time.time())
        payload = {
            "iat": now,
            "exp": now + 900,
            "iss": jwks_server.origin,
            "aud": jwks_server.origin,
            "sub": sub,
            "id": sub,
            "email": f"{sub}@example.com",
            "name": sub,
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        if secret is not None:
            return jwt.encode(payload, secret, algorithm="HS256", headers=headers)
        key = key or signing_key
        return jwt.encode(
            payload, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, **(headers or {})}
        )

    return make


@pytest.fixture
def forge(make_token, session_keys, jwks_server):
    """What the forged-token cases (forged_tokens.py) build their tokens with."""
    return Forge(make_token, session_keys, jwks_server.origin)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def auth_client(make_token):
    """auth_client(user_id): an APIClient that sends a valid Bearer token for that user."""

    def make(user_id="user-a"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user_id)}")
        return client

    return make


@pytest.fixture
def gunicorn_server(transactional_db, jwks_server):
    """taskapi under gunicorn (2 workers x 8 threads) on the test database; PostgreSQL only."""
    require_postgresql()
    with Gunicorn(app_env(jwks_server), workers=2, threads=8) as server:
        yield server


@pytest.fixture
def user_client(auth_client):
    """An APIClient acting as user-a, the user most tests act as (pytest-django's `client` is left alone)."""
    return auth_client("user-a")


@pytest.fixture
def make_task(db):
    def make(user_id="user-a", **fields):
        fields.setdefault("title", "Buy milk")
        return Task.objects.create(user_id=user_id, **fields)

    return make


@pytest.fixture
def run_command():
    """run_command(name, *args, **options) -> (exit status, stdout, stderr), through call_command.

    A CommandError's message goes to stderr and its returncode is the status, as on the command line.
    """

    def run(name, *args, **options):
        stdout, stderr = io.StringIO(), io.StringIO()
        try:
            call_command(name, *args, stdout=stdout, stderr=stderr, **options)
        except CommandError as e:
            stderr.write(f"CommandError: {e}\n")
            return e.returncode, stdout.getvalue(), stderr.getvalue()
        return 0, stdout.getvalue(), stderr.getvalue()

    return run


class Terminal(io.StringIO):
    """A text stream that says it is a TTY: input typed at a terminal, or output shown on one."""

    def isatty(self):
        return True


@pytest.fixture
def terminal():
    """terminal(text=""): a TTY stream, as stdin with `text` typed into it or as stderr."""
    return Terminal


@pytest.fixture
def io_input():
    """io_input(text): a stdin that is a pipe or file holding `text` (isatty() is false)."""
    return io.StringIO


@pytest.fixture
def start_live_api(transactional_db, jwks_server):
    """start_live_api(**env): taskapi under gunicorn on a free loopback port, on the test database.

    PostgreSQL only; stopped after the test.
    """
    from .live import Gunicorn, database_url, require_postgresql

    require_postgresql()
    servers = []

    def start(**env):
        env = {
            "DATABASE_URL": database_url(),
            "BETTER_AUTH_URL": jwks_server.origin,
            "API_USER_THROTTLE_RATE": "off",
            **env,
        }
        servers.append(Gunicorn(env, workers=2, threads=4))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_api(start_live_api):
    return start_live_api()
