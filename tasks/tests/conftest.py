"""Fixtures: really signed tokens, a JWKS really served over HTTP on 127.0.0.1, API clients."""
import time

import jwt
import pytest
from django.conf import settings as django_settings
from django.test.utils import override_settings
from rest_framework.test import APIClient

from tasks.authentication import token_backend
from tasks.models import Task

from .keys import ALGORITHMS, JWKSServer, SigningKey


@pytest.fixture(scope="session", autouse=True)
def static_files_from_finders():
    """Tests serve admin and Swagger UI assets straight from the apps, as runserver does.

    Production's manifest storage needs `collectstatic` first; test_gunicorn.py covers that path.
    """
    storages = {**django_settings.STORAGES, "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}}
    with override_settings(STORAGES=storages, STATIC_ROOT=None, WHITENOISE_USE_FINDERS=True):
        yield


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
def make_task(db):
    def make(user_id="user-a", **fields):
        fields.setdefault("title", "Buy milk")
        return Task.objects.create(user_id=user_id, **fields)

    return make
