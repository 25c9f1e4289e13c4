"""Better Auth's side of a run: one EdDSA key, its JWKS served on 127.0.0.1, and the tokens it signs.

The benchmark's own, so that it imports no test code; the tests' richer double (rotations,
outages, several algorithms) is tasks/tests/keys.py.
"""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

JWKS_PATH = "/api/auth/jwks"


class TokenIssuer:
    """Signs Better Auth-shaped tokens with one EdDSA key and serves its JWKS while in `with`."""

    def __init__(self, lifetime_seconds):
        self.lifetime_seconds = lifetime_seconds
        self.kid = uuid.uuid4().hex
        self.private_key = ed25519.Ed25519PrivateKey.generate()
        public_jwk = OKPAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        body = json.dumps({"keys": [{**public_jwk, "kid": self.kid, "alg": "EdDSA"}]}).encode()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), jwks_handler(body))
        self.origin = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def token_for(self, user_id):
        now = int(time.time())
        claims = {
            "sub": user_id,
            "id": user_id,
            "email": f"{user_id}@example.com",
            "name": user_id,
            "iat": now,
            "exp": now + self.lifetime_seconds,
            "iss": self.origin,
            "aud": self.origin,
        }
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def jwks_handler(body):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != JWKS_PATH:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    return Handler
