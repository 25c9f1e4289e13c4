"""The effective Better Auth verification settings, derived once from Django settings."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

ASYMMETRIC_ALGORITHMS = frozenset({"EdDSA", "ES256", "ES512", "RS256", "PS256"})
SHARED_SECRET_ALGORITHMS = frozenset({"HS256"})
MIN_SECRET_LENGTH = 32


def origin_of(url):
    """`https://auth.example.com/some/path/` -> `https://auth.example.com` ("" when not a URL)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def without_trailing_slash(value):
    return value.strip().rstrip("/")


@dataclass(frozen=True)
class AuthConfig:
    """What a token must satisfy, as configured for this deploy."""

    algorithms: tuple
    issuer: str
    audience: str
    jwks_url: str
    secret: str
    leeway: int
    jwks_cache_ttl: int
    jwks_refresh_cooldown: int
    jwks_timeout: float

    @property
    def uses_shared_secret(self):
        return bool(self.algorithms) and set(self.algorithms) <= SHARED_SECRET_ALGORITHMS

    @property
    def mode(self):
        return "hs256" if self.uses_shared_secret else "jwks"

    @classmethod
    def from_settings(cls):
        origin = origin_of(settings.BETTER_AUTH_URL)
        jwks_url = settings.BETTER_AUTH_JWKS_URL.strip() or (f"{origin}/api/auth/jwks" if origin else "")
        return cls(
            algorithms=tuple(settings.BETTER_AUTH_JWT_ALGORITHMS),
            issuer=without_trailing_slash(settings.BETTER_AUTH_JWT_ISSUER or origin),
            audience=without_trailing_slash(settings.BETTER_AUTH_JWT_AUDIENCE or origin),
            jwks_url=jwks_url,
            secret=settings.BETTER_AUTH_SECRET,
            leeway=settings.BETTER_AUTH_JWT_LEEWAY,
            jwks_cache_ttl=settings.BETTER_AUTH_JWKS_CACHE_TTL,
            jwks_refresh_cooldown=settings.BETTER_AUTH_JWKS_REFRESH_COOLDOWN,
            jwks_timeout=settings.BETTER_AUTH_JWKS_TIMEOUT,
        )

    def problems(self):
        """Configuration mistakes as (check id, message, hint) tuples; empty when usable."""
        found = []
        unknown = set(self.algorithms) - ASYMMETRIC_ALGORITHMS - SHARED_SECRET_ALGORITHMS
        if not self.algorithms:
            found.append(("tasks.E003", "BETTER_AUTH_JWT_ALGORITHMS is empty.", "Use EdDSA."))
        if unknown:
            found.append(
                (
                    "tasks.E003",
                    f"Unknown algorithm(s) in BETTER_AUTH_JWT_ALGORITHMS: {', '.join(sorted(unknown))}.",
                    f"Choose from {', '.join(sorted(ASYMMETRIC_ALGORITHMS | SHARED_SECRET_ALGORITHMS))}.",
                )
            )
        if set(self.algorithms) & ASYMMETRIC_ALGORITHMS and set(self.algorithms) & SHARED_SECRET_ALGORITHMS:
            found.append(
                (
                    "tasks.E004",
                    "BETTER_AUTH_JWT_ALGORITHMS mixes HS256 with public-key algorithms.",
                    "Accepting both would let a public key be used as an HMAC secret; pick one family.",
                )
            )
        elif self.uses_shared_secret and len(self.secret) < MIN_SECRET_LENGTH:
            found.append(
                (
                    "tasks.E002",
                    f"HS256 needs BETTER_AUTH_SECRET of at least {MIN_SECRET_LENGTH} characters.",
                    "Set it to the same secret the Better Auth server uses.",
                )
            )
        elif not self.uses_shared_secret and not self.jwks_url:
            found.append(
                (
                    "tasks.E001",
                    "No JWKS URL: set BETTER_AUTH_URL (or BETTER_AUTH_JWKS_URL).",
                    "Tokens cannot be verified without Better Auth's public keys.",
                )
            )
        return found
