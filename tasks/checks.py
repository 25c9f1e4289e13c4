"""System checks for the Better Auth configuration (`manage.py check`, `tasks.E00x`)."""
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .auth_config import AuthConfig


@checks.register(checks.Tags.security)
def check_better_auth_configuration(app_configs=None, **kwargs):
    """Token verification that cannot work is an error; weaker-than-expected set-ups warn."""
    config = AuthConfig.from_settings()
    found = [checks.Error(message, hint=hint, id=check_id) for check_id, message, hint in config.problems()]
    if not found and not (config.issuer and config.audience):
        found.append(checks.Warning(
            "No issuer or audience is configured, so `iss`/`aud` are not checked.",
            hint="Set BETTER_AUTH_URL (or BETTER_AUTH_JWT_ISSUER and BETTER_AUTH_JWT_AUDIENCE).",
            id="tasks.W002",
        ))
    return found


@checks.register(checks.Tags.security)
def check_secret_key_is_configured(app_configs=None, **kwargs):
    if settings.SECRET_KEY_FROM_ENV:
        return []
    return [checks.Warning(
        "DJANGO_SECRET_KEY is not set: a random key is made per process.",
        hint="Admin sessions will not survive a restart or span workers; set DJANGO_SECRET_KEY.",
        id="tasks.W001",
    )]


def raise_on_auth_misconfiguration():
    """Refuse to start serving when token verification is misconfigured."""
    errors = [str(e) for e in check_better_auth_configuration() if e.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(errors))
