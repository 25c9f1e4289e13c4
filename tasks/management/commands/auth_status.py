"""`manage.py auth_status`: how this deploy verifies tokens, and the keys it can fetch."""

from django.core.management.base import BaseCommand, CommandError

from tasks.auth_config import AuthConfig
from tasks.backends import token_backend
from tasks.jwks import describe_key


class Command(BaseCommand):
    help = (
        "Show the effective token verification settings and, in JWKS mode, fetch Better Auth's keys "
        "and list them. Exits non-zero when the configuration is unusable or the keys cannot be fetched. "
        "BETTER_AUTH_SECRET is never shown, only its length."
    )
    # Reporting a broken configuration is the point; the system checks would stop it first.
    requires_system_checks = []

    def handle(self, *args, **options):
        config = AuthConfig.from_settings()
        self.write_settings(config)
        problems = config.problems()
        if problems:
            for check_id, message, hint in problems:
                self.stdout.write(f"problem {check_id}: {message} {hint}")
            raise CommandError("the configuration cannot verify tokens (see the problems above)")
        if config.uses_shared_secret:
            self.stdout.write("keys: none to fetch; HS256 tokens verify with BETTER_AUTH_SECRET")
        else:
            self.write_keys(config)

    def write_settings(self, config):
        secret = f"set ({len(config.secret)} chars)" if config.secret else "not set"
        lines = {
            "mode": config.mode,
            "algorithms": ", ".join(config.algorithms) or "none",
            "issuer": config.issuer or "not checked",
            "audience": config.audience or "not checked",
            "JWKS URL": (config.jwks_url or "none") + (", unused in hs256 mode" if config.uses_shared_secret else ""),
            "leeway": f"{config.leeway} s",
            "JWKS cache": f"TTL {config.jwks_cache_ttl} s, refresh cooldown {config.jwks_refresh_cooldown} s, "
            f"fetch timeout {config.jwks_timeout} s",
            "BETTER_AUTH_SECRET": secret + ("" if config.uses_shared_secret else ", unused in jwks mode"),
        }
        for name, value in lines.items():
            self.stdout.write(f"{name}: {value}")

    def write_keys(self, config):
        jwks = token_backend().jwks
        keys = jwks.keys()
        if not keys:
            raise CommandError(f"cannot fetch the keys from {config.jwks_url}: {jwks.last_error}")
        self.stdout.write(f"keys ({len(keys)}, fetched from {config.jwks_url}):")
        for key in keys.values():
            unusable = (
                ""
                if key.algorithm_name in config.algorithms
                else " (alg not in BETTER_AUTH_JWT_ALGORITHMS: never accepted)"
            )
            self.stdout.write(f"  {describe_key(key)}{unusable}")
