"""verify_token, auth_status and mint_dev_token against the real verifier and a loopback JWKS."""

import time
from datetime import datetime, timezone

import jwt
import pytest

from .forged_tokens import FORGED_TOKENS
from .keys import HS256_SECRET, SigningKey

pytestmark = pytest.mark.django_db


def iso(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


@pytest.fixture
def hs256(settings):
    settings.BETTER_AUTH_JWT_ALGORITHMS = ["HS256"]
    settings.BETTER_AUTH_SECRET = HS256_SECRET
    return settings


@pytest.mark.parametrize("command", ["verify_token", "auth_status", "mint_dev_token"])
def test_auth_commands_have_help(run_command, capsys, command):
    with pytest.raises(SystemExit) as exit:
        run_command(command, "--help")
    assert exit.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_verify_token_accepts_a_good_token_and_shows_header_claims_and_key(run_command, make_token, signing_key):
    token = make_token("user-a")
    code, out, err = run_command("verify_token", token)
    assert code == 0
    assert '  alg: "EdDSA"' in out
    assert f'  kid: "{signing_key.kid}"' in out
    assert "claims:\n  iat: " in out
    assert '  sub: "user-a"' in out
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert f"  exp: {exp} ({iso(exp)})" in out
    assert f"key: kid {signing_key.kid}, alg EdDSA, kty OKP, crv Ed25519" in out
    assert out.endswith("accepted: user 'user-a'\n")
    assert token not in out + err
    assert token.split(".")[2] not in out + err


@pytest.mark.parametrize("algorithm, description", [("ES256", "kty EC, crv P-256"), ("RS256", "kty RSA")])
def test_verify_token_names_the_matched_key_of_each_type(
    run_command, settings, make_token, session_keys, algorithm, description
):
    settings.BETTER_AUTH_JWT_ALGORITHMS = [algorithm]
    key = session_keys[algorithm]
    code, out, _ = run_command("verify_token", make_token(key=key))
    assert code == 0
    assert f"key: kid {key.kid}, alg {algorithm}, {description}\n" in out


@pytest.mark.parametrize("given", ["-", None])
def test_verify_token_reads_the_token_from_stdin(run_command, make_token, given, io_input):
    args = [given] if given else []
    code, out, _ = run_command("verify_token", *args, stdin=io_input(make_token() + "\n"))
    assert code == 0
    assert "accepted: user 'user-a'" in out


def test_verify_token_asks_for_the_token_at_a_terminal(run_command, make_token, terminal):
    code, out, err = run_command("verify_token", stdin=terminal(make_token() + "\n"))
    assert code == 0
    assert err == "Paste the token, then press Enter:\n"
    assert "accepted: user 'user-a'" in out


def test_verify_token_ignores_a_bearer_prefix(run_command, make_token):
    code, out, _ = run_command("verify_token", f"Bearer {make_token()}")
    assert code == 0


@pytest.mark.parametrize("build, code, algorithms", FORGED_TOKENS)
def test_verify_token_rejects_every_token_the_api_rejects(
    run_command, api_client, settings, forge, build, code, algorithms
):
    settings.BETTER_AUTH_JWT_ALGORITHMS = algorithms
    token = build(forge)
    assert api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    code, out, err = run_command("verify_token", token)
    assert code == 1
    assert "CommandError: rejected: " in err
    assert "accepted" not in out
    signature = token.split(".")[2]
    assert token not in out + err
    # A one-letter signature (the "a.b.c" case) occurs in any text; real ones must not.
    assert len(signature) < 8 or signature not in out + err


def test_rejection_of_an_expired_token_says_when_it_expired(run_command, make_token):
    exp = int(time.time()) - 3600
    code, out, err = run_command("verify_token", make_token(exp=exp, iat=exp - 900))
    assert code == 1
    assert "claims (not verified):" in out
    assert f"rejected: expired at {iso(exp)} (now " in err
    assert "leeway 10 s)" in err


def test_rejection_of_a_future_token_says_from_when_it_is_valid(run_command, make_token):
    nbf = int(time.time()) + 3600
    _, _, err = run_command("verify_token", make_token(nbf=nbf))
    assert f"rejected: not valid yet: nbf is {iso(nbf)}" in err


def test_rejection_for_audience_names_both_audiences(run_command, make_token, jwks_server):
    _, _, err = run_command("verify_token", make_token(aud="https://other.example.com"))
    assert f"rejected: audience 'https://other.example.com' is not '{jwks_server.origin}'" in err


def test_rejection_for_issuer_names_both_issuers(run_command, make_token, jwks_server):
    _, _, err = run_command("verify_token", make_token(iss="https://evil.example.com"))
    assert f"rejected: issuer 'https://evil.example.com' is not '{jwks_server.origin}'" in err


def test_rejection_for_unknown_kid_lists_the_kids_the_jwks_has(run_command, make_token, signing_key):
    stranger = SigningKey("EdDSA")
    _, _, err = run_command("verify_token", make_token(key=stranger))
    assert f"rejected: unknown kid '{stranger.kid}'; the JWKS has kid(s) " in err
    assert signing_key.kid in err


def test_rejection_for_a_key_impostor_is_a_bad_signature(run_command, make_token, signing_key):
    impostor = SigningKey("EdDSA", kid=signing_key.kid)
    _, _, err = run_command("verify_token", make_token(key=impostor))
    assert "rejected: bad signature: it does not verify with the JWKS key its kid names" in err


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"sub": None}, 'Token is missing the "sub" claim'),
        ({"sub": "   "}, "sub must be a non-empty string of at most 255 characters"),
        ({"exp": None}, 'Token is missing the "exp" claim'),
    ],
)
def test_rejection_for_claims_gives_the_apis_reason(run_command, make_token, claims, reason):
    code, _, err = run_command("verify_token", make_token(**claims))
    assert code == 1
    assert f"rejected: {reason}" in err


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b", "a.b.c.d", "é.b.c", "a" * 9000 + ".b.c"])
def test_rejection_of_a_malformed_token_says_it_is_not_a_jwt(run_command, token):
    code, out, err = run_command("verify_token", token)
    assert code == 1
    assert "header: unreadable" in out
    assert "rejected: not a JWT (three non-empty base64url segments, at most 8000 characters)" in err


def test_unreachable_jwks_is_no_verdict(run_command, make_token, jwks_server):
    jwks_server.available = False
    code, _, err = run_command("verify_token", make_token())
    assert code == 2
    assert "no verdict: cannot fetch the JWKS" in err


def test_unusable_configuration_is_no_verdict(run_command, settings, make_token):
    settings.BETTER_AUTH_URL = ""
    code, _, err = run_command("verify_token", make_token())
    assert code == 2
    assert "no verdict: the configuration cannot verify tokens: No JWKS URL" in err


def test_no_token_is_no_verdict(run_command, io_input):
    code, _, err = run_command("verify_token", stdin=io_input("\n"))
    assert code == 2
    assert "no token given" in err


class TestVerifyTokenInSharedSecretMode:
    def test_token_signed_with_the_secret_is_accepted(self, run_command, hs256, make_token, jwks_server):
        code, out, _ = run_command("verify_token", make_token(secret=HS256_SECRET))
        assert code == 0
        assert "key: BETTER_AUTH_SECRET, alg HS256" in out
        assert HS256_SECRET not in out
        assert jwks_server.fetches == 0

    def test_token_signed_with_another_secret_is_a_bad_signature(self, run_command, hs256, make_token):
        code, _, err = run_command("verify_token", make_token(secret="x" * 40))
        assert code == 1
        assert "rejected: bad signature: it does not verify with BETTER_AUTH_SECRET" in err
        assert HS256_SECRET not in err


def test_auth_status_shows_the_jwks_settings_and_fetched_keys(run_command, jwks_server, signing_key):
    code, out, _ = run_command("auth_status")
    assert code == 0
    assert out.splitlines()[:8] == [
        "mode: jwks",
        "algorithms: EdDSA",
        f"issuer: {jwks_server.origin}",
        f"audience: {jwks_server.origin}",
        f"JWKS URL: {jwks_server.origin}/api/auth/jwks",
        "leeway: 10 s",
        "JWKS cache: TTL 300 s, refresh cooldown 5 s, fetch timeout 3 s",
        "BETTER_AUTH_SECRET: not set, unused in jwks mode",
    ]
    assert f"keys (5, fetched from {jwks_server.origin}/api/auth/jwks):" in out
    assert f"  kid {signing_key.kid}, alg EdDSA, kty OKP, crv Ed25519\n" in out


def test_auth_status_flags_keys_whose_alg_is_not_allowed(run_command, session_keys):
    _, out, _ = run_command("auth_status")
    es256 = session_keys["ES256"]
    assert (
        f"  kid {es256.kid}, alg ES256, kty EC, crv P-256 (alg not in BETTER_AUTH_JWT_ALGORITHMS: never accepted)"
        in out
    )


def test_auth_status_says_why_keys_cannot_be_fetched(run_command, jwks_server):
    jwks_server.available = False
    code, out, err = run_command("auth_status")
    assert code == 1
    assert "mode: jwks" in out
    assert (
        f"cannot fetch the keys from {jwks_server.origin}/api/auth/jwks: cannot fetch the JWKS: HTTP Error 503" in err
    )


def test_auth_status_in_hs256_mode_gives_the_secrets_length_never_the_secret(run_command, hs256, jwks_server):
    code, out, err = run_command("auth_status")
    assert code == 0
    assert "mode: hs256" in out
    assert f"BETTER_AUTH_SECRET: set ({len(HS256_SECRET)} chars)" in out
    assert "keys: none to fetch; HS256 tokens verify with BETTER_AUTH_SECRET" in out
    assert HS256_SECRET not in out + err
    assert jwks_server.fetches == 0


def test_auth_status_reports_configuration_problems(run_command, settings):
    settings.BETTER_AUTH_JWT_ALGORITHMS = ["HS256"]
    settings.BETTER_AUTH_SECRET = "too-short"
    code, out, err = run_command("auth_status")
    assert code == 1
    assert "BETTER_AUTH_SECRET: set (9 chars)" in out
    assert "problem tasks.E002: HS256 needs BETTER_AUTH_SECRET of at least 32 characters." in out
    assert "too-short" not in out + err
    assert "the configuration cannot verify tokens" in err


def test_auth_status_without_issuer_or_audience_says_they_are_not_checked(run_command, settings, jwks_server):
    settings.BETTER_AUTH_URL = ""
    settings.BETTER_AUTH_JWKS_URL = f"{jwks_server.origin}/api/auth/jwks"
    code, out, _ = run_command("auth_status")
    assert code == 0
    assert "issuer: not checked\naudience: not checked\n" in out


class TestMintDevToken:
    @pytest.fixture(autouse=True)
    def debug(self, settings):
        settings.DEBUG = True

    def test_minted_token_is_accepted_by_the_api(self, run_command, hs256, api_client, jwks_server):
        code, out, _ = run_command("mint_dev_token", "dev-user")
        assert code == 0
        response = api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {out.strip()}")
        assert response.status_code == 200
        claims = jwt.decode(out.strip(), HS256_SECRET, algorithms=["HS256"], audience=jwks_server.origin)
        assert claims["sub"] == "dev-user"
        assert claims["iss"] == jwks_server.origin
        assert claims["exp"] - claims["iat"] == 900

    def test_minted_token_is_accepted_by_verify_token(self, run_command, hs256):
        _, token, _ = run_command("mint_dev_token", "dev-user", "--ttl", "60")
        code, out, _ = run_command("verify_token", token.strip())
        assert code == 0
        assert "accepted: user 'dev-user'" in out

    def test_ttl_sets_the_lifetime(self, run_command, hs256):
        _, out, _ = run_command("mint_dev_token", "dev-user", "--ttl", "60")
        claims = jwt.decode(out.strip(), options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 60

    def test_without_issuer_and_audience_none_are_set(self, run_command, hs256, api_client):
        hs256.BETTER_AUTH_URL = ""
        _, out, _ = run_command("mint_dev_token", "dev-user")
        assert set(jwt.decode(out.strip(), options={"verify_signature": False})) == {"sub", "iat", "exp"}
        assert api_client.get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {out.strip()}").status_code == 200

    def test_refused_when_debug_is_off(self, run_command, hs256):
        hs256.DEBUG = False
        code, out, err = run_command("mint_dev_token", "dev-user")
        assert code == 1
        assert out == ""
        assert "refused: DJANGO_DEBUG is off" in err

    def test_refused_in_jwks_mode(self, run_command):
        code, out, err = run_command("mint_dev_token", "dev-user")
        assert code == 1
        assert out == ""
        assert "refused: tokens are verified with Better Auth's public keys (EdDSA)" in err

    @pytest.mark.parametrize("secret", ["", "too-short"])
    def test_refused_without_a_usable_secret(self, run_command, hs256, secret):
        hs256.BETTER_AUTH_SECRET = secret
        code, out, err = run_command("mint_dev_token", "dev-user")
        assert code == 1
        assert out == ""
        assert "refused: HS256 needs BETTER_AUTH_SECRET of at least 32 characters" in err

    @pytest.mark.parametrize(
        "args, message",
        [
            (["dev-user", "--ttl", "0"], "--ttl must be a positive number of seconds"),
            (["   "], "USER_ID must be a non-blank string of at most 255 characters"),
            (["u" * 256], "USER_ID must be a non-blank string of at most 255 characters"),
        ],
    )
    def test_bad_arguments_are_refused(self, run_command, hs256, args, message):
        code, out, err = run_command("mint_dev_token", *args)
        assert code == 1
        assert out == ""
        assert message in err
