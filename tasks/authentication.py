"""Authentication of Better Auth JWTs, built on simplejwt's stateless authentication.

The request's user is simplejwt's `TokenUser`: a principal backed by the verified token,
whose `id` is the token's `sub`. No database query is made to authenticate.
"""
import logging
import re
import threading
import time
from collections import OrderedDict
from datetime import timedelta
from functools import lru_cache

import jwt
from django.core.signals import setting_changed
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed,
    ExpiredTokenError,
    InvalidToken,
    TokenBackendError,
    TokenBackendExpiredToken,
    TokenError,
)
from rest_framework_simplejwt.tokens import Token

from .auth_config import AuthConfig
from .client_values import CONTROL_CHARACTERS, OutOfRange, epoch_seconds
from .exceptions import AuthServiceUnavailable
from .jwks import JWKSCache, JWKSUnavailable, UnknownSigningKey

logger = logging.getLogger(__name__)

# Under gunicorn's 8190-byte header line limit; Better Auth's tokens are well under 2 KB.
MAX_TOKEN_LENGTH = 8000
MAX_SUBJECT_LENGTH = 255
COMPACT_JWS = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def with_trailing_slash_variant(value):
    """A configured URL matches with or without a trailing slash; None when not configured."""
    return [value, f"{value}/"] if value else None


class VerifiedTokens:
    """Tokens that passed full verification, reused until their `exp` or a change of keys.

    A client sends the same token for its whole 15-minute life; verifying its signature and
    claims again on every request cost more than the 5 % of a list request we allow for it
    (docs/performance.md). Only tokens that passed every check are kept, `exp` is checked
    again on each reuse, and a refetch of the JWKS or a settings change discards them all.
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
            token, version = entry
            if version != keys_version or token["exp"] <= now - leeway:
                del self._entries[raw_token]
                return None
            self._entries.move_to_end(raw_token)
            return token

    def put(self, raw_token, token, keys_version):
        with self._lock:
            self._entries[raw_token] = (token, keys_version)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)


class BetterAuthTokenBackend(TokenBackend):
    """simplejwt's TokenBackend with an algorithm allow-list and keys chosen by `kid`."""

    def __init__(self, config):
        super().__init__(
            algorithm=config.algorithms[0],
            signing_key=config.secret or None,
            audience=with_trailing_slash_variant(config.audience),
            issuer=with_trailing_slash_variant(config.issuer),
            leeway=config.leeway,
        )
        self.config = config
        self.verified = VerifiedTokens()
        self.jwks = None
        if not config.uses_shared_secret:
            self.jwks = JWKSCache(
                config.jwks_url,
                ttl=config.jwks_cache_ttl,
                cooldown=config.jwks_refresh_cooldown,
                timeout=config.jwks_timeout,
            )

    @property
    def keys_version(self):
        """Changes when the keys do; a cached verdict is only good for the keys that gave it."""
        if self.jwks is None:
            return 0
        self.jwks.refresh_if_stale()  # so a key Better Auth withdrew is noticed on cache hits too
        return self.jwks.keys_version

    def get_verifying_key(self, token):
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm not in self.config.algorithms:
            raise TokenBackendError(f"algorithm {str(algorithm)[:20]!r} is not allowed")
        if self.jwks is None:
            return self.config.secret
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenBackendError("the token has no kid")
        try:
            # A PyJWK is bound to its own algorithm: PyJWT refuses a token whose alg differs.
            return self.jwks.get_key(kid)
        except UnknownSigningKey as e:
            raise TokenBackendError(f"unknown kid {kid[:64]!r}") from e

    def decode(self, token, verify=True):
        try:
            return jwt.decode(
                token,
                self.get_verifying_key(token),
                algorithms=list(self.config.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.get_leeway(),
                options={
                    "require": ["exp", "sub"],
                    "verify_signature": verify,
                    "verify_aud": self.audience is not None,
                },
            )
        except jwt.ExpiredSignatureError as e:
            raise TokenBackendExpiredToken(str(e)) from e
        except jwt.InvalidTokenError as e:
            raise TokenBackendError(str(e)) from e


@lru_cache(maxsize=1)
def token_backend():
    """The process's token backend (and with it, its one JWKS cache)."""
    return BetterAuthTokenBackend(AuthConfig.from_settings())


def reset_token_backend(*, setting, **kwargs):
    if setting.startswith("BETTER_AUTH_"):
        token_backend.cache_clear()


setting_changed.connect(reset_token_backend)


class BetterAuthToken(Token):
    """A verified Better Auth access token: no type or `jti` claim, the user id in `sub`."""

    token_type = "better_auth"
    # simplejwt insists on a lifetime; it only matters for issuing, which Better Auth does.
    lifetime = timedelta(0)

    def get_token_backend(self):
        return token_backend()

    def verify(self):
        # Checked before simplejwt turns `exp` into a datetime, which fails past the year 9999
        # (an `exp` in milliseconds) or on a string; and before `sub` becomes a column value.
        for claim in ("exp", "iat", "nbf"):
            if claim in self.payload:
                try:
                    epoch_seconds(self.payload[claim])
                except OutOfRange as e:
                    raise TokenError(f"{claim} {e}") from e
        sub = self.payload.get("sub")
        if not isinstance(sub, str) or not sub.strip() or len(sub) > MAX_SUBJECT_LENGTH:
            raise TokenError(f"sub must be a non-empty string of at most {MAX_SUBJECT_LENGTH} characters")
        if CONTROL_CHARACTERS.search(sub):
            raise TokenError("sub must not hold control characters or unpaired surrogates")
        super().verify()


def rejection_reason(error):
    """The most precise reason available for a TokenError (simplejwt chains the backend's)."""
    return str(error.__cause__ or error)


class BetterAuthJWTAuthentication(JWTStatelessUserAuthentication):
    """`Authorization: Bearer <jwt>` with a token from Better Auth's jwt plugin."""

    def get_raw_token(self, header):
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return None
        if len(token) > MAX_TOKEN_LENGTH or not COMPACT_JWS.fullmatch(token):
            logger.info("token rejected: malformed Authorization header")
            raise AuthenticationFailed("Invalid token.", code="bad_authorization_header")
        return token

    def get_validated_token(self, raw_token):
        backend = token_backend()
        keys_version = backend.keys_version  # read first: a refresh meanwhile voids what we verify
        token = backend.verified.get(raw_token, keys_version, time.time(), backend.config.leeway)
        if token is None:
            token = self.verify(raw_token)
            backend.verified.put(raw_token, token, keys_version)
        return token

    def verify(self, raw_token):
        try:
            return BetterAuthToken(raw_token)
        except JWKSUnavailable as e:
            logger.warning("token not verified: %s", e)
            raise AuthServiceUnavailable() from e
        except ExpiredTokenError as e:
            logger.info("token rejected: %s", rejection_reason(e))
            raise InvalidToken("Invalid token.", code="token_expired") from e
        except TokenError as e:
            logger.info("token rejected: %s", rejection_reason(e))
            raise InvalidToken("Invalid token.", code="token_not_valid") from e
