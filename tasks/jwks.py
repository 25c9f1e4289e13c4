"""A process-wide cache of Better Auth's public keys (its JWKS).

PyJWT's PyJWKClient drops its keys when their lifespan ends and the refetch fails, and
treats an empty key set as an error to raise on every request; Better Auth can publish
`{"keys": []}` for a moment after a rotation and can be briefly unreachable. This cache
therefore keeps the last good keys until a fetch brings usable ones, lets concurrent
requests share one fetch, refetches for unknown kids at most once per cooldown however
many requests carry them, and tells "unknown key" (the token's fault, 401) apart from
"cannot reach the keys" (ours, 503).
"""

import json
import logging
import threading
import time
import urllib.error
import urllib.request

from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

from .metrics import JWKS_FETCHES

logger = logging.getLogger(__name__)

MAX_JWKS_BYTES = 1024 * 1024


class UnknownSigningKey(Exception):
    """The JWKS was fetched, and no key in it has the token's `kid`."""


class JWKSUnavailable(Exception):
    """No key for the token's `kid` is cached and the JWKS cannot be fetched right now."""


class JWKSFetchError(Exception):
    """The JWKS could not be fetched, or held no usable signing key."""


class JWKSCache:
    """Signing keys by `kid`, refreshed on a TTL or an unknown `kid`, kept through outages."""

    def __init__(self, url, *, ttl=300, cooldown=5, timeout=3.0):
        self.url = url
        self.ttl = ttl
        self.cooldown = cooldown
        self.timeout = timeout
        self.last_error = None
        self._keys = {}
        self._fetched_at = None
        self._attempted_at = None
        self._unknown_kid_refresh_at = None
        # Bumped whenever a fetch replaces the keys; tokens verified before must be verified again.
        self.keys_version = 0
        # Counts finished fetch attempts; bumped after the keys are replaced, so a reader
        # that saw the old generation and then missed a key knows to look again.
        self._generation = 0
        self._lock = threading.Lock()

    def get_key(self, kid):
        """The key for `kid`, refreshing the set first when it is stale or lacks that key."""
        generation = self._generation  # read before the keys: see _refresh
        key = self._keys.get(kid)
        if key is not None and not self._is_stale():
            return key
        self._refresh(seen=generation, have_key=key is not None)
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self.last_error is not None:
            raise JWKSUnavailable(self.last_error)
        raise UnknownSigningKey(kid)

    def refresh_if_stale(self):
        """Start a refresh when the TTL has passed, unless one is under way (then carry on)."""
        if self._is_stale():
            self._refresh(seen=self._generation, have_key=True)

    def keys(self):
        """The cached keys by `kid`, fetching them first if none have been fetched yet."""
        if self._fetched_at is None:
            self._refresh(seen=self._generation, have_key=False)
        return dict(self._keys)

    def _is_stale(self):
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self.ttl

    def _backing_off(self, unknown_kid):
        """After a failed fetch, and after a fetch for an unknown kid, wait out the cooldown.

        A fetch on start-up or on TTL expiry starts no cooldown, so a key that Better Auth
        has just rotated in is found at once unless a refresh for an unknown kid just ran.
        """
        now = time.monotonic()
        if self.last_error is not None and now - self._attempted_at < self.cooldown:
            return True
        last = self._unknown_kid_refresh_at
        return unknown_kid and last is not None and now - last < self.cooldown

    def _refresh(self, *, seen, have_key):
        # A request holding a usable (if stale) key never queues behind a fetch in progress.
        if not self._lock.acquire(blocking=not have_key):
            return
        try:
            # Requests that queued behind a fetch use its result instead of fetching again.
            unknown_kid = not have_key and bool(self._keys)
            if self._generation != seen or self._backing_off(unknown_kid):
                return
            self._attempted_at = time.monotonic()
            if unknown_kid:
                self._unknown_kid_refresh_at = self._attempted_at
            try:
                self._keys = self._fetch()
                self.keys_version += 1
                self._fetched_at = time.monotonic()
                self.last_error = None
                JWKS_FETCHES.labels("ok").inc()
            except JWKSFetchError as e:
                self.last_error = str(e)
                JWKS_FETCHES.labels("failed").inc()
                logger.warning("JWKS refresh from %s failed: %s", self.url, e)
            self._generation += 1
        finally:
            self._lock.release()

    def _fetch(self):
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read(MAX_JWKS_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise JWKSFetchError(f"cannot fetch the JWKS: {e}") from e
        if len(body) > MAX_JWKS_BYTES:
            raise JWKSFetchError("the JWKS is larger than 1 MiB")
        return parse_signing_keys(body)


def parse_signing_keys(body):
    """`{kid: PyJWK}` for the signing keys in a JWKS document; JWKSFetchError if there are none."""
    try:
        document = json.loads(body)
        key_set = PyJWKSet.from_dict(document)
    except (ValueError, TypeError, AttributeError, PyJWKSetError, PyJWKError) as e:
        raise JWKSFetchError(f"the JWKS holds no usable key: {e}") from e
    keys = {
        key.key_id: key
        for key in key_set.keys
        if key.key_id and key.public_key_use in ("sig", None) and isinstance(key, PyJWK)
    }
    if not keys:
        raise JWKSFetchError("the JWKS holds no signing key with a kid")
    return keys


def describe_key(key):
    """`kid abc, alg EdDSA, kty OKP, crv Ed25519`: what identifies a key, never its material."""
    parts = [f"kid {key.key_id}", f"alg {key.algorithm_name}", f"kty {key.key_type}"]
    curve = key.Algorithm.to_jwk(key.key, as_dict=True).get("crv")
    if curve:
        parts.append(f"crv {curve}")
    return ", ".join(parts)
