"""Configuration at start-up: `.env` files, one-line refusals on errors, and the CI switch."""

import os
import secrets
import subprocess
import sys

import pytest

from .live import PROJECT_DIR, free_port, in_ci

# What the tests' own environment may hold that would hide what the file under test provides.
CONFIGURATION = (
    "BETTER_AUTH_URL",
    "BETTER_AUTH_JWKS_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "LOG_LEVEL",
    "CORS_ALLOWED_ORIGINS",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SESSION_COOKIE_SECURE",
    "REDIS_URL",
)
PRINT_SETTINGS = (
    "from django.conf import settings as s; "
    "print(s.BETTER_AUTH_URL, s.LOG_LEVEL, s.CORS_ALLOWED_ORIGINS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE)"
)


def run(command, *, timeout=60, **env):
    """A command in the project directory with the tests' environment less CONFIGURATION, plus `env`."""
    base = {name: value for name, value in os.environ.items() if name not in CONFIGURATION}
    return subprocess.run(
        command, cwd=PROJECT_DIR, env={**base, **env}, capture_output=True, text=True, timeout=timeout
    )


def manage(*args, **env):
    return run([sys.executable, "manage.py", *args], **env)


def test_a_dotenv_file_fills_in_what_the_environment_does_not_set(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("BETTER_AUTH_URL=http://auth.from-dotenv.test\nLOG_LEVEL=WARNING\n")
    result = manage("shell", "-c", PRINT_SETTINGS, DJANGO_DOTENV_FILE=str(dotenv), LOG_LEVEL="DEBUG")
    assert result.returncode == 0, result.stderr
    # The file's BETTER_AUTH_URL is used; its LOG_LEVEL is not, since the real environment has one.
    assert result.stdout.splitlines()[-1].split()[:2] == ["http://auth.from-dotenv.test", "DEBUG"]


def test_the_development_example_works_over_plain_http_with_a_frontend_on_port_3000():
    result = manage("shell", "-c", PRINT_SETTINGS, DJANGO_DOTENV_FILE=str(PROJECT_DIR / ".env.example"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "http://localhost:3000",
        "INFO",
        "['http://localhost:3000']",
        "False",
        "False",
    ]


def test_the_production_example_passes_check_deploy(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DOTENV_FILE=str(PROJECT_DIR / ".env.production.example"),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert result.returncode == 0, result.stderr


def assert_one_line_refusal(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    refusal = [line for line in result.stderr.splitlines() if "taskapi: configuration error:" in line]
    assert len(refusal) == 1, result.stderr
    for fragment in fragments:
        assert fragment in refusal[0]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["migrate", "--noinput"], id="migrate"),
        pytest.param(["runserver", "127.0.0.1:{port}"], id="runserver"),
        pytest.param(["runserver", "--noreload", "127.0.0.1:{port}"], id="runserver-noreload"),
    ],
)
def test_manage_commands_stop_in_one_line_without_better_auth_url(tmp_path, command):
    port = str(free_port())
    result = manage(
        *[part.format(port=port) for part in command],
        DJANGO_DOTENV_FILE="",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert_one_line_refusal(result, "tasks.E001", "BETTER_AUTH_URL")


def test_a_setting_that_is_not_a_number_is_named(tmp_path):
    result = manage(
        "migrate",
        DJANGO_DOTENV_FILE="",
        BETTER_AUTH_URL="http://127.0.0.1:3000",
        DATABASE_CONN_MAX_AGE="sixty",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert_one_line_refusal(result, "DATABASE_CONN_MAX_AGE", "sixty")


def gunicorn(tmp_path, **env):
    command = [sys.executable, "-m", "gunicorn", "taskapi.wsgi", "--bind", f"127.0.0.1:{free_port()}"]
    return run(command, DJANGO_DOTENV_FILE="", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **env)


def test_gunicorn_stops_in_one_line_without_better_auth_url(tmp_path):
    result = gunicorn(tmp_path, DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert_one_line_refusal(result, "tasks.E001")


@pytest.mark.parametrize(
    "secret_key, reason",
    [
        pytest.param(None, "DJANGO_SECRET_KEY is not set", id="missing"),
        pytest.param("django-insecure-development-only", "development key", id="development-key"),
    ],
)
def test_gunicorn_refuses_to_serve_without_a_real_secret_key(tmp_path, secret_key, reason):
    key = {"DJANGO_SECRET_KEY": secret_key} if secret_key else {}
    result = gunicorn(tmp_path, BETTER_AUTH_URL="http://127.0.0.1:3000", DJANGO_DEBUG="0", **key)
    assert_one_line_refusal(result, reason)


def test_gunicorn_refuses_the_development_example_as_it_is():
    result = run(
        [sys.executable, "-m", "gunicorn", "taskapi.wsgi", "--bind", f"127.0.0.1:{free_port()}"],
        DJANGO_DOTENV_FILE=str(PROJECT_DIR / ".env.example"),
    )
    assert_one_line_refusal(result, "development key")


@pytest.mark.parametrize(
    "value, expected",
    [
        pytest.param("true", True, id="true"),
        pytest.param("1", True, id="one"),
        pytest.param("TRUE", True, id="upper"),
        pytest.param("false", False, id="false"),
        pytest.param("0", False, id="zero"),
        pytest.param("", False, id="empty"),
    ],
)
def test_ci_is_on_only_for_a_true_value(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected
