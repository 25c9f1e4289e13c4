"""`manage.py verify_token`: would the API accept this token, and if not, exactly why?"""

import json
import sys
import time
from datetime import datetime, timezone

import jwt
from django.core.management.base import BaseCommand, CommandError
from django.test import RequestFactory
from rest_framework.exceptions import AuthenticationFailed

from tasks.auth_config import AuthConfig
from tasks.authentication import MAX_TOKEN_LENGTH, BetterAuthJWTAuthentication, rejection_reason
from tasks.backends import token_backend
from tasks.exceptions import AuthServiceUnavailable
from tasks.jwks import UnknownSigningKey, describe_key
from tasks.timestamps import utc_iso

REJECTED, NO_VERDICT = 1, 2
TIME_CLAIMS = ("exp", "iat", "nbf")


class Command(BaseCommand):
    help = (
        "Check a Better Auth token exactly as the API would, with this deploy's settings: print its "
        "header, its claims and the key that verified it, or the precise reason it is refused. "
        "Exit status 0 accepted, 1 rejected, 2 no verdict (unusable configuration, keys unreachable, "
        "no token). The token and its signature are never printed."
    )
    # The configuration is checked in handle(), so that a broken one gets exit status 2 here too.
    requires_system_checks = []
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "token",
            nargs="?",
            default="-",
            metavar="TOKEN",
            help="the JWT (a leading 'Bearer ' is ignored); '-' or nothing reads it from stdin, "
            "which keeps it out of the shell history",
        )

    def handle(self, *args, token, **options):
        problems = "; ".join(
            f"{message} ({check_id})" for check_id, message, _ in AuthConfig.from_settings().problems()
        )
        if problems:
            raise CommandError(f"no verdict: the configuration cannot verify tokens: {problems}", returncode=NO_VERDICT)
        token = self.read_token(token, options.get("stdin", sys.stdin))
        header, claims = unverified_parts(token)
        self.write_section("header", header)
        try:
            user, validated = authenticate_as_the_api_does(token)
        except AuthServiceUnavailable as e:
            self.write_section("claims (not verified)", claims)
            raise CommandError(f"no verdict: {e.__cause__}", returncode=NO_VERDICT) from e
        except AuthenticationFailed as e:
            self.write_section("claims (not verified)", claims)
            raise CommandError(f"rejected: {precise_reason(e, claims)}", returncode=REJECTED) from e
        self.write_section("claims", validated.payload)
        self.stdout.write(f"key: {matched_key(token)}")
        self.stdout.write(f"accepted: user {user.id!r}")

    def read_token(self, token, stdin):
        if token == "-":
            if stdin.isatty():
                self.stderr.write("Paste the token, then press Enter:")
            token = stdin.readline(MAX_TOKEN_LENGTH + 16)
        token = token.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise CommandError("no verdict: no token given (pass TOKEN or pipe it on stdin)", returncode=NO_VERDICT)
        return token

    def write_section(self, title, values):
        if values is None:
            self.stdout.write(f"{title}: unreadable")
            return
        self.stdout.write(f"{title}:")
        for name, value in values.items():
            self.stdout.write(f"  {name}: {json.dumps(value, ensure_ascii=False)}{time_note(name, value)}")


def authenticate_as_the_api_does(token):
    """(user, validated token) from the API's own authentication class, given the token as a header."""
    if not token.isascii():
        raise AuthenticationFailed("Invalid token.", code="bad_authorization_header")
    request = RequestFactory().get("/api/tasks", HTTP_AUTHORIZATION=f"Bearer {token}")
    return BetterAuthJWTAuthentication().authenticate(request)


def unverified_parts(token):
    """The token's header and claims as sent (None for a part that does not decode); never trusted."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        header = None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        claims = None
    return header, claims


def time_note(name, value):
    """` (2026-11-21T09:30:00Z)` after a numeric exp, iat or nbf; "" after anything else."""
    if name not in TIME_CLAIMS or not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return f" ({iso_from_epoch(value)})"


def iso_from_epoch(seconds):
    """ISO 8601 UTC for a Unix time; the number itself when it is beyond the calendar."""
    try:
        return utc_iso(datetime.fromtimestamp(seconds, timezone.utc))
    except (OverflowError, ValueError, OSError):
        return str(seconds)


def cause_of_type(error, kind):
    """The first exception of `kind` in `error`'s chain of causes, or None."""
    while error is not None and not isinstance(error, kind):
        error = error.__cause__
    return error


def precise_reason(error, claims):
    """Why the API refused the token, with the values involved (the API logs the bare reason)."""
    cause = cause_of_type(error, jwt.PyJWTError)
    reason = claim_reason(cause, claims or {}, AuthConfig.from_settings())
    if reason:
        return reason
    if cause_of_type(error, UnknownSigningKey):
        return f"{rejection_reason(error.__cause__)}; the JWKS has kid(s) {', '.join(token_backend().jwks.keys()) or 'no keys'}"
    if error.__cause__ is None:  # only the check of the header's shape refuses without a cause
        return f"not a JWT (three non-empty base64url segments, at most {MAX_TOKEN_LENGTH} characters)"
    return rejection_reason(error.__cause__)


def claim_reason(cause, claims, config):
    """The claim PyJWT refused and its value against what was expected; None for other causes."""
    now = iso_from_epoch(int(time.time()))
    if isinstance(cause, jwt.ExpiredSignatureError):
        return f"expired at {iso_from_epoch(claims['exp'])} (now {now}, leeway {config.leeway} s)"
    if isinstance(cause, jwt.ImmatureSignatureError):
        name = "iat" if "(iat)" in str(cause) else "nbf"
        return f"not valid yet: {name} is {iso_from_epoch(claims[name])} (now {now}, leeway {config.leeway} s)"
    if isinstance(cause, jwt.InvalidAudienceError):
        return f"audience {claims.get('aud')!r} is not {config.audience!r}"
    if isinstance(cause, jwt.InvalidIssuerError):
        return f"issuer {claims.get('iss')!r} is not {config.issuer!r}"
    if isinstance(cause, jwt.InvalidSignatureError):
        key = "BETTER_AUTH_SECRET" if config.uses_shared_secret else "the JWKS key its kid names"
        return f"bad signature: it does not verify with {key}"
    return None


def matched_key(token):
    """The key the token verified with, looked up as the token backend looked it up."""
    key = token_backend().get_verifying_key(token)
    return "BETTER_AUTH_SECRET, alg HS256" if isinstance(key, str) else describe_key(key)
