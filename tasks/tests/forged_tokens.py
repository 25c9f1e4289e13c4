"""Tokens that must all be refused, one `pytest.param` each: the API and `verify_token` share the table."""

import base64
import json
import time

import pytest

from .keys import SigningKey


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class Forge:
    """What a case forges with: `make_token`, the session's keys (EdDSA by default), the issuer's origin."""

    def __init__(self, make_token, session_keys, origin):
        self.make = make_token
        self.keys = session_keys
        self.key = session_keys["EdDSA"]
        self.origin = origin
        self.now = int(time.time())

    def splice(self, header=None, payload=None, signature=None):
        """A valid token with some of its three segments replaced (by a text, or a function of the old one)."""
        parts = self.make().split(".")
        replaced = [
            new(old) if callable(new) else new or old
            for new, old in zip((header, payload, signature), parts, strict=True)
        ]
        return ".".join(replaced)

    def impostor(self, algorithm, kid, private_key=None):
        key = SigningKey(algorithm, kid=kid)
        key.private_key = private_key or key.private_key
        return key


def forged(case_id, build, code="token_not_valid", algorithms=("EdDSA",)):
    """A case: `build(forge)` makes the token; `algorithms` allowed while it is refused with `code`."""
    return pytest.param(build, code, list(algorithms), id=case_id)


def flipped(signature):
    return ("A" if signature[0] != "A" else "B") + signature[1:]


FORGED_TOKENS = [
    forged("expired", lambda f: f.make(exp=f.now - 60, iat=f.now - 1000), code="token_expired"),
    forged("expired_beyond_leeway", lambda f: f.make(exp=f.now - 11), code="token_expired"),
    forged("no_exp", lambda f: f.make(exp=None)),
    forged("future_nbf", lambda f: f.make(nbf=f.now + 120)),
    forged("future_iat", lambda f: f.make(iat=f.now + 120)),
    forged("wrong_iss", lambda f: f.make(iss="https://evil.example.com")),
    forged("iss_with_path", lambda f: f.make(iss=f"{f.origin}/api/auth")),
    forged("iss_other_case", lambda f: f.make(iss=f.origin.upper())),
    forged("wrong_aud", lambda f: f.make(aud="https://other.example.com")),
    forged("aud_list_without_ours", lambda f: f.make(aud=["https://a.example.com", "https://b.example.com"])),
    forged("no_aud", lambda f: f.make(aud=None)),
    forged("no_sub", lambda f: f.make(sub=None)),
    forged("empty_sub", lambda f: f.make(sub="")),
    forged("blank_sub", lambda f: f.make(sub="   ")),
    forged("numeric_sub", lambda f: f.make(sub=12345)),
    forged("long_sub", lambda f: f.make(sub="u" * 256)),
    forged("unknown_kid", lambda f: f.make(key=SigningKey("EdDSA"))),
    forged("missing_kid", lambda f: f.splice(header=b64({"alg": "EdDSA"}))),
    forged("same_kid_other_key", lambda f: f.make(key=SigningKey("EdDSA", kid=f.key.kid))),
    # An empty signature segment is refused before decoding.
    forged(
        "alg_none",
        lambda f: f"{b64({'alg': 'none', 'kid': f.key.kid})}.{b64({'sub': 'user-a', 'exp': f.now + 900})}.",
        code="bad_authorization_header",
    ),
    forged(
        "alg_none_with_signature",
        lambda f: f"{b64({'alg': 'none', 'kid': f.key.kid})}.{b64({'sub': 'user-a', 'exp': f.now + 900})}.c2ln",
    ),
    forged("hs256_keyed_with_public_jwk", lambda f: f.make(secret=f.key.public_jwk["x"], headers={"kid": f.key.kid})),
    forged("alg_not_allowed", lambda f: f.make(key=f.keys["ES256"])),
    # The next two allow more than EdDSA, so that it is the key check that refuses them.
    forged(
        "alg_mismatch_with_key",
        lambda f: f.make(key=f.impostor("PS256", f.keys["RS256"].kid, f.keys["RS256"].private_key)),
        algorithms=("RS256", "PS256"),
    ),
    forged(
        "kid_of_another_key_type", lambda f: f.make(key=f.impostor("ES256", f.key.kid)), algorithms=("EdDSA", "ES256")
    ),
    forged("tampered_payload", lambda f: f.splice(payload=b64({"sub": "user-b", "exp": f.now + 900}))),
    forged("tampered_header", lambda f: f.splice(header=b64({"alg": "EdDSA", "kid": f.key.kid, "x": 1}))),
    forged("tampered_signature", lambda f: f.splice(signature=flipped)),
    forged(
        "malformed_header_json",
        lambda f: f.splice(header=base64.urlsafe_b64encode(b"{not json").decode().rstrip("=")),
    ),
    forged("payload_not_an_object", lambda f: f.splice(payload=b64(["sub", "user-a"]))),
    forged("invalid_base64_segments", lambda f: "a.b.c"),
    forged("unpadded_garbage_header", lambda f: f.splice(header="eyJhbGciOi")),
]
