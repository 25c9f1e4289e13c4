"""The JWKS cache on its own, against the loopback JWKS server."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tasks.jwks import JWKSCache, JWKSUnavailable, UnknownSigningKey

from .keys import SigningKey


@pytest.fixture
def cache(jwks_server):
    return JWKSCache(f"{jwks_server.origin}{jwks_server.path}", ttl=300, cooldown=5, timeout=1)


def test_concurrent_requests_share_one_fetch(cache, jwks_server, signing_key):
    jwks_server.delay = 0.2
    with ThreadPoolExecutor(max_workers=20) as pool:
        keys = list(pool.map(lambda _: cache.get_key(signing_key.kid), range(20)))
    assert {key.key_id for key in keys} == {signing_key.kid}
    assert jwks_server.fetches == 1


def test_unknown_kid_storm_causes_one_fetch_per_cooldown(cache, jwks_server, signing_key):
    cache.get_key(signing_key.kid)
    jwks_server.delay = 0.2
    stranger = SigningKey("EdDSA").kid

    def lookup(_):
        with pytest.raises(UnknownSigningKey):
            cache.get_key(stranger)

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(lookup, range(200)))
    assert jwks_server.fetches == 2


def test_rotated_key_is_found_right_after_a_routine_fetch(cache, jwks_server, signing_key):
    cache.get_key(signing_key.kid)
    rotated = SigningKey("EdDSA")
    jwks_server.keys = [rotated, signing_key]
    assert cache.get_key(rotated.kid).key_id == rotated.kid


def test_failed_fetch_backs_off_for_the_cooldown(cache, jwks_server):
    jwks_server.available = False
    for _ in range(5):
        with pytest.raises(JWKSUnavailable):
            cache.get_key("any")
    assert jwks_server.fetches == 1


def test_stale_keys_are_served_while_refresh_fails(jwks_server, signing_key):
    cache = JWKSCache(f"{jwks_server.origin}{jwks_server.path}", ttl=0, cooldown=0, timeout=1)
    cache.get_key(signing_key.kid)
    jwks_server.available = False
    assert cache.get_key(signing_key.kid).key_id == signing_key.kid
    assert cache.last_error is not None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"keys": []}', b'{"keys": [{"kty": "nope", "kid": "k"}]}', b'{"keys": [{"kty": "OKP"}]}'],
)
def test_unusable_documents_are_unavailable_not_crashes(jwks_server, body):
    from tasks.jwks import JWKSFetchError, parse_signing_keys

    with pytest.raises(JWKSFetchError):
        parse_signing_keys(body)


def test_unreachable_host_is_unavailable(signing_key):
    cache = JWKSCache("http://127.0.0.1:9/api/auth/jwks", timeout=1)
    with pytest.raises(JWKSUnavailable):
        cache.get_key(signing_key.kid)
