"""Better Auth tokens, really signed and verified through the real code path."""

import http.client
import json
import time

import jwt
import pytest

from tasks.backends import token_backend

from .forged_tokens import FORGED_TOKENS
from .keys import ALGORITHMS, HS256_SECRET, SigningKey

pytestmark = pytest.mark.django_db


def get_tasks(api_client, token):
    return api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_invalid_token(response, code="token_not_valid"):
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "code": code}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_each_better_auth_algorithm_is_accepted(api_client, settings, make_token, session_keys, algorithm):
    settings.BETTER_AUTH_JWT_ALGORITHMS = [algorithm]
    token = make_token("user-a", key=session_keys[algorithm])
    response = get_tasks(api_client, token)
    assert response.status_code == 200
    assert response.json() == []


def test_several_allowed_algorithms_each_verify_with_their_own_key(api_client, settings, make_token, session_keys):
    settings.BETTER_AUTH_JWT_ALGORITHMS = ["EdDSA", "ES256"]
    for algorithm in ("EdDSA", "ES256"):
        assert get_tasks(api_client, make_token(key=session_keys[algorithm])).status_code == 200
    assert_invalid_token(get_tasks(api_client, make_token(key=session_keys["RS256"])))


def test_authenticated_user_is_the_token_subject(api_client, make_token, make_task):
    make_task("user-z", title="z's task")
    response = get_tasks(api_client, make_token("user-z"))
    assert [task["title"] for task in response.json()] == ["z's task"]


def test_missing_authorization_is_401_with_bearer_challenge(api_client):
    response = api_client.get("/api/tasks")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc.def.ghi", "bearer"])
def test_other_schemes_are_401(api_client, header):
    response = api_client.get("/api/tasks", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_bearer_scheme_is_case_insensitive(api_client, make_token):
    assert api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"bearer {make_token()}").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ",
        "Bearer not-a-jwt",
        "Bearer a.b",
        "Bearer a.b.c.d",
        "Bearer a.b.c d",
        "Bearer a!b.c.d",
        "Bearer a.b.c,Bearer a.b.c",
        "Bearer " + "a" * 9000 + ".b.c",
    ],
)
def test_malformed_bearer_values_are_401(api_client, header):
    response = api_client.get("/api/tasks", HTTP_AUTHORIZATION=header)
    assert_invalid_token(response, code="bad_authorization_header")


@pytest.mark.parametrize("padding", ["{} ", " {}", "{}\t"], ids=["double-space", "trailing-space", "trailing-tab"])
def test_token_with_surrounding_whitespace_is_401(api_client, make_token, padding):
    response = api_client.get("/api/tasks", HTTP_AUTHORIZATION="Bearer " + padding.format(make_token()))
    assert_invalid_token(response, code="bad_authorization_header")


@pytest.mark.parametrize("size", [8 * 1024, 1024 * 1024], ids=["8KB", "1MB"])
def test_oversized_but_validly_signed_token_is_401(api_client, make_token, size):
    token = make_token(padding="x" * size)
    assert len(token) > size
    assert_invalid_token(get_tasks(api_client, token), code="bad_authorization_header")


def test_duplicate_authorization_headers_are_401(live_server, make_token):
    connection = http.client.HTTPConnection(live_server.thread.host, live_server.thread.port, timeout=10)
    connection.putrequest("GET", "/api/tasks")
    connection.putheader("Authorization", f"Bearer {make_token()}")
    connection.putheader("Authorization", f"Bearer {make_token('user-b')}")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 401
    assert json.loads(response.read())["code"] == "bad_authorization_header"
    connection.close()


@pytest.mark.parametrize("build, code, algorithms", FORGED_TOKENS)
def test_forged_or_stale_token_is_401(api_client, settings, forge, build, code, algorithms):
    settings.BETTER_AUTH_JWT_ALGORITHMS = algorithms
    assert_invalid_token(get_tasks(api_client, build(forge)), code=code)


def test_expiry_within_leeway_is_accepted(api_client, make_token):
    assert get_tasks(api_client, make_token(exp=int(time.time()) - 5)).status_code == 200


def test_aud_list_containing_ours_is_accepted(api_client, make_token, jwks_server):
    token = make_token(aud=["https://other.example.com", jwks_server.origin])
    assert get_tasks(api_client, token).status_code == 200


def test_trailing_slash_on_configured_url_does_not_matter(api_client, settings, make_token, jwks_server):
    settings.BETTER_AUTH_URL = f"{jwks_server.origin}/"
    assert get_tasks(api_client, make_token()).status_code == 200


def test_issuer_and_audience_overrides_are_enforced(api_client, settings, make_token):
    settings.BETTER_AUTH_JWT_ISSUER = "https://auth.example.com/"
    settings.BETTER_AUTH_JWT_AUDIENCE = "https://app.example.com"
    good = make_token(iss="https://auth.example.com", aud="https://app.example.com")
    assert get_tasks(api_client, good).status_code == 200
    assert_invalid_token(get_tasks(api_client, make_token()))


def test_explicit_jwks_url_is_used(api_client, settings, make_token, jwks_server):
    settings.BETTER_AUTH_URL = "https://auth.example.com"
    settings.BETTER_AUTH_JWKS_URL = f"{jwks_server.origin}{jwks_server.path}"
    token = make_token(iss="https://auth.example.com", aud="https://auth.example.com")
    assert get_tasks(api_client, token).status_code == 200
    assert jwks_server.fetches == 1


def test_key_rotation_is_picked_up_without_restart(api_client, make_token, jwks_server, signing_key):
    assert get_tasks(api_client, make_token()).status_code == 200
    new_key = SigningKey("EdDSA")
    jwks_server.keys = [new_key, signing_key]
    assert get_tasks(api_client, make_token(key=new_key)).status_code == 200
    assert get_tasks(api_client, make_token(key=signing_key)).status_code == 200


def test_keys_are_fetched_once_then_cached(api_client, make_token, jwks_server):
    for _ in range(5):
        assert get_tasks(api_client, make_token()).status_code == 200
    assert jwks_server.fetches == 1


def test_unknown_kid_refetches_at_most_once_per_cooldown(api_client, make_token, jwks_server):
    assert get_tasks(api_client, make_token()).status_code == 200
    stranger = SigningKey("EdDSA")
    for _ in range(5):
        assert_invalid_token(get_tasks(api_client, make_token(key=stranger)))
    assert jwks_server.fetches == 2  # the first fetch, then one refresh for the unknown kid


def test_cached_keys_keep_working_while_jwks_is_unreachable(api_client, settings, make_token, jwks_server):
    settings.BETTER_AUTH_JWKS_CACHE_TTL = 0
    settings.BETTER_AUTH_JWKS_REFRESH_COOLDOWN = 0
    assert get_tasks(api_client, make_token()).status_code == 200
    jwks_server.available = False
    assert get_tasks(api_client, make_token()).status_code == 200
    assert jwks_server.fetches >= 2


def test_new_kid_while_jwks_is_unreachable_is_503_then_accepted_once_back(
    api_client, settings, make_token, jwks_server
):
    settings.BETTER_AUTH_JWKS_REFRESH_COOLDOWN = 0
    assert get_tasks(api_client, make_token()).status_code == 200
    jwks_server.available = False
    rotated = SigningKey("EdDSA")
    response = get_tasks(api_client, make_token(key=rotated))
    assert response.status_code == 503
    assert response.json()["code"] == "auth_unavailable"
    jwks_server.available = True
    jwks_server.keys = [rotated]
    assert get_tasks(api_client, make_token(key=rotated)).status_code == 200


def test_no_reachable_jwks_and_no_cache_is_503(api_client, make_token, jwks_server):
    jwks_server.available = False
    response = get_tasks(api_client, make_token())
    assert response.status_code == 503
    assert response.json() == {
        "detail": "Cannot verify tokens right now; try again shortly.",
        "code": "auth_unavailable",
    }


def test_empty_jwks_after_rotation_keeps_last_good_keys(api_client, settings, make_token, jwks_server):
    settings.BETTER_AUTH_JWKS_CACHE_TTL = 0
    settings.BETTER_AUTH_JWKS_REFRESH_COOLDOWN = 0
    assert get_tasks(api_client, make_token()).status_code == 200
    jwks_server.keys = []
    assert get_tasks(api_client, make_token()).status_code == 200


def test_jwks_recovers_after_outage(api_client, settings, make_token, jwks_server):
    settings.BETTER_AUTH_JWKS_REFRESH_COOLDOWN = 0
    jwks_server.available = False
    assert get_tasks(api_client, make_token()).status_code == 503
    jwks_server.available = True
    assert get_tasks(api_client, make_token()).status_code == 200


def test_authentication_makes_no_database_query(api_client, make_token, django_assert_num_queries):
    token = make_token()
    get_tasks(api_client, token)  # warm the key cache
    with django_assert_num_queries(1):  # the page of tasks, nothing for the user
        assert get_tasks(api_client, token).status_code == 200


def test_rejection_reason_never_echoes_the_token(api_client, make_token, caplog):
    token = make_token(iss="https://evil.example.com")
    with caplog.at_level("INFO"):
        response = get_tasks(api_client, token)
    assert response.status_code == 401
    assert token not in response.content.decode()
    assert "Invalid issuer" in caplog.text
    assert token.split(".")[2] not in caplog.text


class TestSharedSecretMode:
    """HS256 with BETTER_AUTH_SECRET, for set-ups that sign their own tokens."""

    @pytest.fixture(autouse=True)
    def hs256(self, settings):
        settings.BETTER_AUTH_JWT_ALGORITHMS = ["HS256"]
        settings.BETTER_AUTH_SECRET = HS256_SECRET

    def test_token_signed_with_the_secret_is_accepted(self, api_client, make_token, jwks_server):
        assert get_tasks(api_client, make_token(secret=HS256_SECRET)).status_code == 200
        assert jwks_server.fetches == 0

    def test_token_signed_with_another_secret_is_401(self, api_client, make_token):
        assert_invalid_token(get_tasks(api_client, make_token(secret="x" * 40)))

    def test_asymmetric_token_is_401(self, api_client, make_token):
        assert_invalid_token(get_tasks(api_client, make_token()))

    def test_alg_none_is_401(self, api_client, make_token):
        token = jwt.encode({"sub": "user-a", "exp": int(time.time()) + 60}, None, algorithm="none")
        assert_invalid_token(get_tasks(api_client, token), code="bad_authorization_header")
        assert_invalid_token(get_tasks(api_client, token + "c2ln"))


def test_backend_is_rebuilt_when_settings_change(settings):
    first = token_backend()
    settings.BETTER_AUTH_JWT_LEEWAY = 3
    assert token_backend() is not first
    assert token_backend().config.leeway == 3


def test_a_verified_token_is_reused_but_not_past_its_exp(api_client, settings, make_token):
    settings.BETTER_AUTH_JWT_LEEWAY = 0
    token = make_token(exp=int(time.time()) + 2)
    assert get_tasks(api_client, token).status_code == 200
    assert get_tasks(api_client, token).status_code == 200
    assert len(token_backend().verified._entries) == 1
    time.sleep(2.5)
    assert_invalid_token(get_tasks(api_client, token), code="token_expired")


def test_a_reused_token_is_refused_once_its_key_leaves_the_jwks(api_client, settings, make_token, jwks_server):
    settings.BETTER_AUTH_JWKS_CACHE_TTL = 0
    token = make_token()
    assert get_tasks(api_client, token).status_code == 200
    jwks_server.keys = [SigningKey("EdDSA")]
    assert_invalid_token(get_tasks(api_client, token))


def test_a_reused_token_keeps_working_while_the_jwks_is_down(api_client, settings, make_token, jwks_server):
    settings.BETTER_AUTH_JWKS_CACHE_TTL = 0
    token = make_token()
    assert get_tasks(api_client, token).status_code == 200
    jwks_server.available = False
    assert get_tasks(api_client, token).status_code == 200


def test_a_tampered_copy_of_a_cached_token_is_still_refused(api_client, make_token):
    token = make_token()
    assert get_tasks(api_client, token).status_code == 200
    header, payload, signature = token.split(".")
    tampered = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_invalid_token(get_tasks(api_client, ".".join([header, payload, tampered])))
