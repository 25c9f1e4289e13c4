"""Test doubles of Better Auth's key material: real key pairs and a real JWKS endpoint."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

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
