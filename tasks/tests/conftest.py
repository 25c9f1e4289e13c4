"""Fixtures: really signed tokens, a JWKS really served over HTTP on 127.0.0.1, API clients."""
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms
from rest_framework.test import APIClient

from tasks.authentication import token_backend
from tasks.models import Task

ALGORITHMS = ("EdDSA", "ES256", "ES512", "RS256", "PS256")
HS256_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def generate_private_key(algorithm):
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class SigningKey:
    """A key pair as Better Auth would hold it: a private key, its alg, and a 32-char kid."""

    def __init__(self, algorithm, kid=None):
        self.algorithm = algorithm
        self.kid = kid or uuid.uuid4().hex
        self.private_key = generate_private_key(algorithm)

    @property
    def public_jwk(self):
        algorithm = get_default_algorithms()[self.algorithm]
        jwk = algorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm}


class JWKSServer:
    """Serves `{"keys": [...]}` at /api/auth/jwks on 127.0.0.1 and counts the fetches."""

    path = "/api/auth/jwks"

    def __init__(self):
        self.keys = []
        self.fetches = 0
        self.available = True
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                time.sleep(server.delay)
                if not server.available or self.path != server.path:
                    self.send_error(503 if not server.available else 404)
                    return
                body = json.dumps({"keys": [key.public_jwk for key in server.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self, keys):
        self.keys = list(keys)
        self.fetches = 0
        self.available = True
        self.delay = 0.0


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
