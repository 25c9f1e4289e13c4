"""Settings for taskapi: everything that varies per deploy comes from the environment.

Every variable read here is listed, with a one-line comment, in `.env.example`.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import orjson
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


DEBUG = env_bool("DJANGO_DEBUG")

# Without DJANGO_SECRET_KEY a fresh clone still runs, with a per-process key;
# the `tasks.W001` system check says so, since admin sessions then do not survive a restart.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or get_random_secret_key()
SECRET_KEY_FROM_ENV = bool(os.environ.get("DJANGO_SECRET_KEY"))

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "tasks",
]

MIDDLEWARE = [
    "tasks.middleware.RequestLogMiddleware",
    "tasks.metrics.MetricsMiddleware",
    "tasks.middleware.PrivateNoStoreMiddleware",
    # Before the session, the CSRF check and axes: a refused login attempt costs one counter increment.
    "tasks.admin_login.AdminLoginRateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns axes's lockouts into the lockout page; django-axes wants it last.
    "axes.middleware.AxesMiddleware",
]

# The admin's messages live in its session. Django's default tries a signed cookie first, whose
# storage (and signer) MessageMiddleware built on every request, API requests included.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "taskapi.urls"
WSGI_APPLICATION = "taskapi.wsgi.application"
# Both `/api/tasks` and `/api/tasks/` are routed explicitly; a redirect would drop a POST body.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL through DATABASE_URL; a SQLite file beside manage.py when it is unset.
# Django's health checks stay off: they cost a `SELECT 1` round trip per request. The web
# process drops connections PostgreSQL has closed by looking at their sockets instead
# (tasks/database.py, close_connections_the_server_closed).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    # TCP keepalives notice a vanished host or a dropped route on an idle pooled connection.
    DATABASES["default"]["OPTIONS"].update(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)

# Behind PgBouncer in transaction mode (a "pooled" URL such as Neon's), consecutive
# transactions may run on different server connections, where a server-side cursor is gone.
DATABASE_POOLED = env_bool("DATABASE_POOLED")
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DATABASE_POOLED

# The web process's bounds on PostgreSQL (tasks/database.py): the server cancels a statement
# after DATABASE_STATEMENT_TIMEOUT; the app gives up on any answer after DATABASE_RESPONSE_TIMEOUT
# (a frozen server), and then stops waiting for it for CIRCUIT_BREAKER_COOLDOWN seconds.
DATABASE_STATEMENT_TIMEOUT = env_int("DATABASE_STATEMENT_TIMEOUT", 5)
DATABASE_RESPONSE_TIMEOUT = env_int("DATABASE_RESPONSE_TIMEOUT", 7)
# Seconds PostgreSQL or Redis is left alone after it timed out, the replica after it failed (tasks/circuit.py).
CIRCUIT_BREAKER_COOLDOWN = env_int("CIRCUIT_BREAKER_COOLDOWN", 5)

# An optional streaming replica: the API's list, retrieve and stats read from it when it has
# replayed the caller's own writes (tasks/replica.py); everything else uses the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
DATABASE_REPLICA_CONNECT_TIMEOUT = env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 1)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"], conn_health_checks=True
    )
    # A replica that is down costs a read this long at most, then reads go to the primary.
    DATABASES["replica"].setdefault("OPTIONS", {}).update(
        connect_timeout=DATABASE_REPLICA_CONNECT_TIMEOUT,
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
    )
    DATABASES["replica"]["DISABLE_SERVER_SIDE_CURSORS"] = DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]
    # Tests read the replica alias from the test database itself.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["tasks.replica.ReplicaRouter"]
# How long a person's last write position is kept: past it, their reads use the replica whatever its lag.
DATABASE_REPLICA_MARK_SECONDS = env_int("DATABASE_REPLICA_MARK_SECONDS", 600)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Admin login: attempts limited per account and per client address (django-axes) ---
# axes's backend comes first: a locked-out attempt is refused before ModelBackend hashes a password.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 15))
# Each parameter alone: failures for one account from anywhere, or from one address for any account.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Further failures while locked out do not extend the lockout, or a guesser would keep staff out forever.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "tasks.client_address.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/login_locked_out.html"
# Login attempts (POSTs) per client address before any of them reaches the form; DRF's rate syntax, `off` for none.
_login_rate = os.environ.get("ADMIN_LOGIN_RATE", "").strip() or "10/minute"
ADMIN_LOGIN_RATE = None if _login_rate.lower() == "off" else _login_rate

# Django's PBKDF2 first (new and stored hashes alike), hashed at a low CPU priority; see tasks/hashers.py.
PASSWORD_HASHERS = [
    "tasks.hashers.LowPriorityPBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Admin and Swagger UI assets, served by whitenoise from the app itself (no CDN, no web server).
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic writes content-hashed, compressed copies; whitenoise caches those for a year.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Only the hashed names are ever linked ({% static %} goes through the manifest): collectstatic
# drops the unhashed copies, which halves the collected files (and the container image).
WHITENOISE_KEEP_ONLY_HASHED_FILES = True

# --- HTTPS, for production behind TLS; off by default so that plain-HTTP runs and tests work ---
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT")
# Platform health checks and Prometheus often probe over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health(/live|/ready)?/?$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE")
# Only behind a proxy that sets X-Forwarded-Proto itself; otherwise clients could claim HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER") else None

# --- Better Auth token verification (derived values live in tasks/auth_config.py) ---
BETTER_AUTH_URL = os.environ.get("BETTER_AUTH_URL", "")
BETTER_AUTH_JWKS_URL = os.environ.get("BETTER_AUTH_JWKS_URL", "")
BETTER_AUTH_JWT_ISSUER = os.environ.get("BETTER_AUTH_JWT_ISSUER", "")
BETTER_AUTH_JWT_AUDIENCE = os.environ.get("BETTER_AUTH_JWT_AUDIENCE", "")
BETTER_AUTH_JWT_ALGORITHMS = env_list("BETTER_AUTH_JWT_ALGORITHMS", "EdDSA")
BETTER_AUTH_SECRET = os.environ.get("BETTER_AUTH_SECRET", "")
BETTER_AUTH_JWT_LEEWAY = env_int("BETTER_AUTH_JWT_LEEWAY", 10)
BETTER_AUTH_JWKS_CACHE_TTL = env_int("BETTER_AUTH_JWKS_CACHE_TTL", 300)
BETTER_AUTH_JWKS_REFRESH_COOLDOWN = env_int("BETTER_AUTH_JWKS_REFRESH_COOLDOWN", 5)
BETTER_AUTH_JWKS_TIMEOUT = 3

# Shared by every worker when REDIS_URL is set (the rate limit's counters live here).
REDIS_URL = os.environ.get("REDIS_URL", "")
# Starts every key taskapi writes to Redis, so that several deployments (or test runs) can share one.
REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "taskapi:")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Proxies of ours in front of the service, each appending to X-Forwarded-For; 0 = clients connect
# directly and REMOTE_ADDR is the client. See tasks/client_address.py.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)

# Requests per user in DRF's syntax (`1200/minute`); `off` disables the limit.
_throttle_rate = os.environ.get("API_USER_THROTTLE_RATE", "1200/minute").strip()
API_USER_THROTTLE_RATE = None if _throttle_rate.lower() == "off" else _throttle_rate

# Tasks one user may have; `0` or `off` removes the limit. See tasks/quota.py.
_task_quota = os.environ.get("API_MAX_TASKS_PER_USER", "").strip().lower() or "10000"
API_MAX_TASKS_PER_USER = None if _task_quota in {"0", "off"} else int(_task_quota)

# Largest request body read (API JSON and admin forms); larger ones get 413 before being read.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("API_MAX_BODY_BYTES", 256 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tasks.authentication.BetterAuthJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    # DRF keys a list's errors by position ({"tags": {0: [...]}}); written as "0", as json.dumps does.
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_NON_STR_KEYS,),
    "DEFAULT_PARSER_CLASSES": ["tasks.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tasks.error_handlers.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["tasks.throttling.PerUserRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}

SIMPLE_JWT = {
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": None,
    "JTI_CLAIM": None,
    "TOKEN_USER_CLASS": "rest_framework_simplejwt.models.TokenUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "taskapi",
    "DESCRIPTION": (
        "Owner-scoped task API. Authenticate with `Authorization: Bearer <jwt>`, a token issued by "
        "Better Auth's jwt plugin.\n\n"
        "Every answer under /api/ is JSON. Every error has `detail` (for people) and a stable `code` "
        "(for programs; schemas `Error`, `ValidationError`, `PreconditionFailed`); a refused field, "
        "query parameter or header keeps its own key with its messages. Any route answers 405 "
        "`method_not_allowed` to a method it lacks, and an unknown URL under /api/ is 404 `not_found`. "
        "408, 414, 504 and the proxy's 400/413/503 come from nginx in front of the app, in the same "
        "shape; it refuses a body over its limit on any route, even one that reads none.\n\n"
        "The `tasks-by-user-id` operations are the original `/api/{user_id}/tasks` shape of the `tasks` "
        "ones (`x-alias-of` names each one's twin); skip that tag to generate a client of `/api/tasks` alone."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The document and Swagger UI are public; a stale token in the browser must not break them.
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's JavaScript and CSS from drf-spectacular-sidecar's static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tasks.schema.error_components",
        "tasks.schema.every_response_field_is_required",
        "tasks.schema.request_id_on_every_response",
        "tasks.schema.request_body_is_required",
        "tasks.schema.user_id_routes_are_an_alias",
    ],
}

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
# The defaults already allow `authorization`; conditional and idempotent writes need these too,
# and the browser may only read the response headers listed in CORS_EXPOSE_HEADERS.
CORS_ALLOW_HEADERS = (*default_cors_headers, "if-match", "if-none-match", "idempotency-key", "x-request-id")
# Every response header the OpenAPI document lists (a test keeps the two in step).
CORS_EXPOSE_HEADERS = [
    "Link",
    "Location",
    "ETag",
    "Retry-After",
    "Idempotent-Replayed",
    "WWW-Authenticate",
    "X-Request-ID",
]

# `/metrics` answers only requests with `Authorization: Bearer <this>`; unset, it answers 404.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# Errors go to Sentry when a DSN is set; tasks/error_reporting.py keeps tokens out of the reports.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from tasks.error_reporting import start_error_reporting

    start_error_reporting(SENTRY_DSN, environment=os.environ.get("SENTRY_ENVIRONMENT") or "production")

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
# One JSON object per line on stdout, for the platform's log drain; see tasks/logging.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tasks.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "tasks.logging.JSONFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Django's records go to the JSON handler alone, not also to its plain-text defaults.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # tasks.middleware already logs every request; Django's "Not Found: ..." lines would
        # repeat 4xx ones. Server errors still come through, with their traceback.
        "django.request": {"level": "ERROR"},
        # django-axes announces itself at every start; its lockout warnings (axes.handlers) still come through.
        "axes.apps": {"level": "WARNING"},
    },
}
