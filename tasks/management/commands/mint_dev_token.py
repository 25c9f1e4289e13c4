"""`manage.py mint_dev_token`: an HS256 token this API accepts, for local development only."""

import time

import jwt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tasks.auth_config import AuthConfig
from tasks.backends import MAX_SUBJECT_LENGTH

DEFAULT_TTL = 900  # Better Auth's own token lifetime


class Command(BaseCommand):
    help = (
        "Print a token for USER_ID signed with BETTER_AUTH_SECRET (HS256), with the configured iss "
        "and aud, that this API accepts. Local development only: refused unless DJANGO_DEBUG is on "
        "and BETTER_AUTH_JWT_ALGORITHMS is HS256."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("user_id", metavar="USER_ID", help="becomes the token's sub")
        parser.add_argument(
            "--ttl", type=int, default=DEFAULT_TTL, metavar="SECONDS", help=f"lifetime (default {DEFAULT_TTL})"
        )

    def handle(self, *args, user_id, ttl, **options):
        config = AuthConfig.from_settings()
        refuse_outside_local_hs256(config)
        if ttl <= 0:
            raise CommandError("--ttl must be a positive number of seconds")
        if not user_id.strip() or len(user_id) > MAX_SUBJECT_LENGTH:
            raise CommandError(f"USER_ID must be a non-blank string of at most {MAX_SUBJECT_LENGTH} characters")
        self.stdout.write(jwt.encode(dev_claims(config, user_id, ttl), config.secret, algorithm="HS256"))


def refuse_outside_local_hs256(config):
    """CommandError unless this is a debug deploy verifying HS256 with a usable secret."""
    if not settings.DEBUG:
        raise CommandError("refused: DJANGO_DEBUG is off, and dev tokens are for local development only")
    if "HS256" not in config.algorithms:
        raise CommandError(
            f"refused: tokens are verified with Better Auth's public keys ({', '.join(config.algorithms)}), "
            "which only Better Auth can sign for; set BETTER_AUTH_JWT_ALGORITHMS=HS256 and BETTER_AUTH_SECRET"
        )
    problems = "; ".join(f"{message} ({check_id})" for check_id, message, _ in config.problems())
    if problems:
        raise CommandError(f"refused: {problems}")


def dev_claims(config, user_id, ttl):
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl}
    if config.issuer:
        claims["iss"] = config.issuer
    if config.audience:
        claims["aud"] = config.audience
    return claims
