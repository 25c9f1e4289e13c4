"""The production switches: `check --deploy` is clean with the README's environment, and HTTPS
redirects spare the health check."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

# The production environment documented in the README's "Deploying" section.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://api.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SESSION_COOKIE_SECURE": "1",
    "DJANGO_CSRF_COOKIE_SECURE": "1",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "1",
    "BETTER_AUTH_URL": "https://auth.example.com",
}


def check_deploy(tmp_path, **overrides):
    env = {
        **os.environ,
        **PRODUCTION_ENV,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **overrides,
    }
    env = {name: value for name, value in env.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_each_production_switch_left_unset(tmp_path):
    unset = [
        "DJANGO_SECURE_SSL_REDIRECT",
        "DJANGO_SECURE_HSTS_SECONDS",
        "DJANGO_SESSION_COOKIE_SECURE",
        "DJANGO_CSRF_COOKIE_SECURE",
        "DJANGO_SECRET_KEY",
    ]
    result = check_deploy(tmp_path, **dict.fromkeys(unset), DJANGO_DEBUG="1")
    assert result.returncode != 0
    for check_id in ("security.W008", "security.W004", "security.W012", "security.W016", "security.W018", "tasks.W001"):
        assert check_id in result.stderr


@pytest.fixture
def https_settings(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return settings


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_except_the_health_check(client, https_settings):
    response = client.get("/api/tasks")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/tasks"
    assert client.get("/health").status_code == 200


@pytest.mark.django_db
def test_https_reported_by_the_proxy_is_not_redirected(client, https_settings):
    assert client.get("/api/tasks", HTTP_X_FORWARDED_PROTO="https").status_code == 401
