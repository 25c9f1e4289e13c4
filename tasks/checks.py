"""System checks for this service's configuration (`manage.py check`, `tasks.E00x`/`W00x`)."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .auth_config import AuthConfig
from .throttling import PerUserRateThrottle


@checks.register(checks.Tags.security)
def check_better_auth_configuration(app_configs=None, **kwargs):
    """Token verification that cannot work is an error; weaker-than-expected set-ups warn."""
    config = AuthConfig.from_settings()
    found = [checks.Error(message, hint=hint, id=check_id) for check_id, message, hint in config.problems()]
    if not found and not (config.issuer and config.audience):
        found.append(
            checks.Warning(
                "No issuer or audience is configured, so `iss`/`aud` are not checked.",
                hint="Set BETTER_AUTH_URL (or BETTER_AUTH_JWT_ISSUER and BETTER_AUTH_JWT_AUDIENCE).",
                id="tasks.W002",
            )
        )
    return found


@checks.register(checks.Tags.security)
def check_secret_key_is_configured(app_configs=None, **kwargs):
    if settings.SECRET_KEY_FROM_ENV:
        return []
    return [
        checks.Warning(
            "DJANGO_SECRET_KEY is not set: a random key is made per process.",
            hint="Admin sessions will not survive a restart or span workers; set DJANGO_SECRET_KEY.",
            id="tasks.W001",
        )
    ]


@checks.register()
def check_throttle_rate(app_configs=None, **kwargs):
    try:
        PerUserRateThrottle()
    except (ValueError, KeyError, IndexError, AttributeError):
        return [
            checks.Error(
                f"API_USER_THROTTLE_RATE {settings.API_USER_THROTTLE_RATE!r} is not a DRF rate.",
                hint="Use a number per second, minute, hour or day, e.g. 1200/minute, or off.",
                id="tasks.E005",
            )
        ]
    return []


@checks.register(checks.Tags.database)
def check_replica_configuration(app_configs=None, **kwargs):
    """A replica needs PostgreSQL, and read-your-writes across processes needs Redis."""
    if "replica" not in settings.DATABASES:
        return []
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return [
            checks.Error(
                "DATABASE_REPLICA_URL is set but DATABASE_URL is not PostgreSQL.",
                hint="A streaming replica follows a PostgreSQL primary; unset DATABASE_REPLICA_URL.",
                id="tasks.E020",
            )
        ]
    if not settings.REDIS_URL:
        return [
            checks.Warning(
                "DATABASE_REPLICA_URL is set without REDIS_URL: each process remembers only its own writes.",
                hint="A person's read served by another worker or instance may miss their write; set REDIS_URL.",
                id="tasks.W020",
            )
        ]
    return []


def configuration_errors():
    """The errors that make every request fail (token verification, rate limit, replica), one line each."""
    found = check_better_auth_configuration() + check_throttle_rate() + check_replica_configuration()
    return [one_line(message) for message in found if message.is_serious()]


def production_secret_key_problem():
    """Why the secret key cannot serve production (DEBUG off), or None.

    Without DJANGO_SECRET_KEY every gunicorn worker would sign with a key of its own; the
    development key of `.env.example` is public.
    """
    if settings.DEBUG:
        return None
    if not settings.SECRET_KEY_FROM_ENV:
        return "DJANGO_SECRET_KEY is not set (required when DJANGO_DEBUG is off)"
    if settings.SECRET_KEY.startswith("django-insecure"):
        return "DJANGO_SECRET_KEY is a development key (django-insecure-...); set a random one"
    return None


def one_line(message):
    hint = f" ({message.hint})" if message.hint else ""
    return f"{message.id}: {message.msg}{hint}"


def raise_on_configuration_errors():
    """Refuse to start serving when token verification or the rate limit is misconfigured."""
    errors = configuration_errors()
    if errors:
        raise ImproperlyConfigured("; ".join(errors))
