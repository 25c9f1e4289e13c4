"""Where Better Auth's tokens are verified, as simplejwt keeps verification in its `backends.py`.

simplejwt's TokenBackend verifies with one algorithm; Better Auth's deploys may allow several,
so each allowed algorithm gets its own TokenBackend, whose key is the one the token's `kid`
names in the JWKS. In front of them sits a cache of verdicts: a client sends the same token
for its whole 15-minute life, and verifying it again on every request cost more than the 5 %
of a list request allowed for it (docs/performance.md).
"""

import threading
import time
from collections import OrderedDict
from datetime import timedelta
from functools import lru_cache

import jwt
from django.core.signals import setting_changed
from rest_framework_simplejwt.backends import ALLOWED_ALGORITHMS, TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError

from .auth_config import AuthConfig
from .client_values import CONTROL_CHARACTERS, OutOfRange, epoch_seconds
from .jwks import JWKSCache, UnknownSigningKey

MAX_SUBJECT_LENGTH = 255


def with_trailing_slash_variant(value):
    """A configured URL matches with or without a trailing slash; None when not configured."""
    return [value, f"{value}/"] if value else None


class VerifiedTokens:
    """Payloads of tokens that passed full verification, reused until their `exp` or a change of keys.

    Only payloads that passed every check are kept, `exp` is checked again on each reuse, and a
    refetch of the JWKS (or a settings change, which builds a new backend) discards them all.
    """

    def __init__(self, size=4096):
        self.size = size
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, raw_token, keys_version, now, leeway):
        with self._lock:
            entry = self._entries.get(raw_token)
            if entry is None:
                return None
            payload, version = entry
            if version != keys_version or payload["exp"] <= now - leeway:
                del self._entries[raw_token]
                return None
            self._entries.move_to_end(raw_token)
            return payload

    def put(self, raw_token, payload, keys_version):
        with self._lock:
            self._entries[raw_token] = (payload, keys_version)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)


class AlgorithmTokenBackend(TokenBackend):
    """simplejwt's TokenBackend for one allowed algorithm; in JWKS mode, the key the token's `kid` names."""

    def __init__(self, algorithm, config, jwks):
        super().__init__(
            algorithm=algorithm,
            signing_key=config.secret or None,
            audience=with_trailing_slash_variant(config.audience),
            issuer=with_trailing_slash_variant(config.issuer),
            leeway=config.leeway,
        )
        self.jwks = jwks

    def get_verifying_key(self, token):
        if self.jwks is None:
            return self.signing_key
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenBackendError("the token has no kid")
        try:
            # A PyJWK is bound to its own algorithm: PyJWT refuses a token whose alg differs.
            return self.jwks.get_key(kid)
        except UnknownSigningKey as e:
            raise TokenBackendError(f"unknown kid {kid[:64]!r}") from e


class BetterAuthTokenBackend:
    """The token backend of BetterAuthToken: the allowed algorithms' backends, the JWKS, the verdicts."""

    def __init__(self, config):
        self.config = config
        self.jwks = None
        if not config.uses_shared_secret:
            self.jwks = JWKSCache(
                config.jwks_url,
                ttl=config.jwks_cache_ttl,
                cooldown=config.jwks_refresh_cooldown,
                timeout=config.jwks_timeout,
            )
        # An algorithm simplejwt does not know is a configuration error (tasks.E003), not a crash here.
        self.by_algorithm = {
            algorithm: AlgorithmTokenBackend(algorithm, config, self.jwks)
            for algorithm in config.algorithms
            if algorithm in ALLOWED_ALGORITHMS
        }
        self.verified = VerifiedTokens()

    def decode(self, token, verify=True):
        """The token's verified payload; from the cache when it already passed under the current keys."""
        keys_version = self.keys_version()  # read first: a refresh meanwhile voids what we verify
        payload = self.verified.get(token, keys_version, time.time(), self.config.leeway)
        if payload is None:
            payload = self.backend_for(token).decode(token, verify)
            check_required_claims(payload)
            if verify:
                self.verified.put(token, payload, keys_version)
        return payload

    def get_verifying_key(self, token):
        return self.backend_for(token).get_verifying_key(token)

    def get_leeway(self):
        return timedelta(seconds=self.config.leeway)

    def backend_for(self, token):
        """The backend of the token's `alg`, when that algorithm is allowed."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError as e:
            raise TokenBackendError("Token is invalid") from e
        if algorithm not in self.by_algorithm:
            raise TokenBackendError(f"algorithm {str(algorithm)[:20]!r} is not allowed")
        return self.by_algorithm[algorithm]

    def keys_version(self):
        """Changes when the keys do; a cached verdict is only good for the keys that gave it."""
        if self.jwks is None:
            return 0
        self.jwks.refresh_if_stale()  # so a key Better Auth withdrew is noticed on cache hits too
        return self.jwks.keys_version


def check_required_claims(payload):
    """Better Auth's tokens carry `exp`, and the user id in `sub`, a string of 1 to 255 characters.

    The times are checked before simplejwt turns `exp` into a datetime, which fails past the
    year 9999 (an `exp` in milliseconds) or on a string; `sub` before it becomes a column value.
    """
    for claim in ("exp", "sub"):
        if claim not in payload:
            raise TokenBackendError("Token is invalid") from jwt.MissingRequiredClaimError(claim)
    for claim in ("exp", "iat", "nbf"):
        if claim in payload:
            try:
                epoch_seconds(payload[claim])
            except OutOfRange as e:
                raise TokenBackendError(f"{claim} {e}") from e
    sub = payload["sub"]
    if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_SUBJECT_LENGTH:
        raise TokenBackendError(f"sub must be a non-empty string of at most {MAX_SUBJECT_LENGTH} characters")
    if CONTROL_CHARACTERS.search(sub):
        raise TokenBackendError("sub must not hold control characters or unpaired surrogates")


@lru_cache(maxsize=1)
def token_backend():
    """The process's token backend (and with it, its one JWKS cache)."""
    return BetterAuthTokenBackend(AuthConfig.from_settings())


def reset_token_backend(*, setting, **kwargs):
    if setting.startswith("BETTER_AUTH_"):
        token_backend.cache_clear()


setting_changed.connect(reset_token_backend)
