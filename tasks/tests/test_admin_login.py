"""Admin login: failures limited per account and per client address, refusals cost no password hash."""

import collections
import http.cookiejar
import logging
import multiprocessing
import os
import runpy
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher, PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.core.cache import cache

from tasks.admin_login import GATE_KEY
from tasks.hashers import HASHING_NICENESS, LowPriorityPBKDF2PasswordHasher, lower_this_threads_priority

from .live import PROJECT_DIR, Gunicorn, call, database_url, require_postgresql
from .test_throttling import REDIS_URL, require_redis

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
STAFF_ADDRESS, ATTACKER_ADDRESS, OTHER_ADDRESS = "192.0.2.10", "198.51.100.66", "203.0.113.5"


class CountingHasher(MD5PasswordHasher):
    """A real (fast) hasher that counts the passwords it hashes: the cost a refusal must not pay."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    """Passwords are hashed by CountingHasher; returns a function giving the count so far."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    settings.ADMIN_LOGIN_RATE = None
    cache.clear()
    CountingHasher.calls = 0
    return lambda: CountingHasher.calls


@pytest.fixture
def staff(hashes):
    user = User.objects.create_superuser("boss", "boss@example.com", "right-password")
    CountingHasher.calls = 0
    return user


def attempt(client, username, password, address):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address)


def lock_out_account(client, settings, address):
    """AXES_FAILURE_LIMIT wrong passwords: the form with its error each time, the last one locks out."""
    statuses = [attempt(client, "boss", "wrong", address).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]


def test_a_locked_out_account_is_refused_without_hashing_even_the_right_password(client, staff, hashes, settings):
    lock_out_account(client, settings, ATTACKER_ADDRESS)
    assert hashes() == settings.AXES_FAILURE_LIMIT
    response = attempt(client, "boss", "right-password", OTHER_ADDRESS)
    assert response.status_code == 429
    assert b"Too many login attempts" in response.content
    assert hashes() == settings.AXES_FAILURE_LIMIT
    assert "_auth_user_id" not in client.session


def test_a_locked_out_address_is_refused_for_every_account_without_hashing(client, staff, hashes, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"guess{number}", "wrong", ATTACKER_ADDRESS)
    assert hashes() == settings.AXES_FAILURE_LIMIT  # an unknown user costs a hash too (Django's timing defence)
    assert attempt(client, "someone-else", "wrong", ATTACKER_ADDRESS).status_code == 429
    assert hashes() == settings.AXES_FAILURE_LIMIT


def test_other_staff_at_other_addresses_still_log_in(client, staff, hashes, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"guess{number}", "wrong", ATTACKER_ADDRESS)
    response = attempt(client, "boss", "right-password", STAFF_ADDRESS)
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_the_locked_out_address_is_the_trusted_one_not_a_forwarded_header(client, staff, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": f"guess{number}", "password": "x"}, HTTP_X_FORWARDED_FOR=f"10.9.9.{number}")
    assert attempt(client, "anyone", "x", "127.0.0.1").status_code == 429


def test_axes_reset_unlocks(client, staff, settings, run_command):
    lock_out_account(client, settings, ATTACKER_ADDRESS)
    assert attempt(client, "boss", "right-password", STAFF_ADDRESS).status_code == 429
    assert run_command("axes_reset_username", "boss")[0] == 0
    assert attempt(client, "boss", "right-password", STAFF_ADDRESS).status_code == 302


def test_login_attempts_beyond_the_address_rate_are_refused_before_the_form(client, staff, hashes, settings):
    settings.ADMIN_LOGIN_RATE = "2/minute"
    statuses = [attempt(client, "boss", "wrong", ATTACKER_ADDRESS).status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]  # under AXES_FAILURE_LIMIT: the limit is this middleware's
    assert hashes() == 2
    response = attempt(client, "boss", "right-password", ATTACKER_ADDRESS)
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 60
    assert attempt(client, "boss", "right-password", STAFF_ADDRESS).status_code == 302


@pytest.mark.parametrize("value, rate", [("", "10/minute"), ("3/hour", "3/hour"), ("off", None), ("OFF", None)])
def test_admin_login_rate_from_the_environment(monkeypatch, value, rate):
    monkeypatch.setenv("ADMIN_LOGIN_RATE", value)
    assert runpy.run_path(str(PROJECT_DIR / "taskapi" / "settings.py"))["ADMIN_LOGIN_RATE"] == rate


def test_the_login_page_itself_is_not_limited(client, hashes, settings):
    settings.ADMIN_LOGIN_RATE = "1/minute"
    assert {client.get(LOGIN).status_code for _ in range(5)} == {200}


def test_while_another_login_is_checked_an_attempt_is_refused_before_any_hash(client, staff, hashes):
    cache.add(GATE_KEY, True, 30)
    response = attempt(client, "boss", "right-password", STAFF_ADDRESS)
    assert response.status_code == 429 and response["Retry-After"] == "1"
    assert b"Another login is being checked" in response.content
    assert hashes() == 0
    cache.delete(GATE_KEY)
    assert attempt(client, "boss", "right-password", STAFF_ADDRESS).status_code == 302


def test_the_gate_is_released_after_each_attempt(client, staff):
    attempt(client, "boss", "wrong", STAFF_ADDRESS)
    assert cache.get(GATE_KEY) is None


def test_low_priority_hasher_makes_djangos_own_pbkdf2_hashes():
    hasher = LowPriorityPBKDF2PasswordHasher()
    encoded = hasher.encode("s3cret", "salt1234", iterations=1000)
    assert encoded == PBKDF2PasswordHasher().encode("s3cret", "salt1234", iterations=1000)
    assert hasher.verify("s3cret", encoded) and not hasher.verify("wrong", encoded)


def test_lowering_priority_affects_only_the_calling_thread():
    seen = {}

    def lower():
        lower_this_threads_priority()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=lower)
    thread.start()
    thread.join()
    assert seen["nice"] == max(before, HASHING_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


# --- a login flood against gunicorn ----------------------------------------------------------

FLOOD_CLIENTS, FLOOD_ROUNDS, FLOOD_SECONDS, ATTEMPTS_PER_SECOND = 4, 3, 1.5, 6


def flood_logins(url, seconds, per_second):
    """One anonymous client posting wrong passwords, `per_second` attempts a second for `seconds`, as a
    browser would (CSRF token from the login page); returns the statuses it got.

    Paced rather than as fast as possible: on a shared machine a closed loop measures how much CPU the
    attacking processes take from the server, not what an attempt costs the server.
    """
    cookies = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    opener.open(f"{url}{LOGIN}", timeout=10).close()
    token = next(cookie.value for cookie in cookies if cookie.name == "csrftoken")
    form = urllib.parse.urlencode({"username": "boss", "password": "guess", "csrfmiddlewaretoken": token}).encode()
    statuses, started = [], time.monotonic()
    for number in range(int(seconds * per_second)):
        time.sleep(max(0.0, started + number / per_second - time.monotonic()))
        try:
            with opener.open(f"{url}{LOGIN}", data=form, timeout=30) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            error.close()
            statuses.append(error.code)
    return statuses


def api_latencies(url, token, seconds):
    """Sequential GET /api/tasks for `seconds`; the latency of each, in seconds."""
    latencies, until = [], time.monotonic() + seconds
    while time.monotonic() < until:
        started = time.perf_counter()
        assert call("GET", f"{url}/api/tasks", token=token)[0] == 200
        latencies.append(time.perf_counter() - started)
    return latencies


def flood_from_one_process(url, clients, seconds, per_second):
    """`clients` flooding threads in this (separate) process; every status they got."""
    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(lambda _: flood_logins(url, seconds, per_second), range(clients)), [])


def test_a_login_flood_does_not_double_the_apis_median_latency(
    transactional_db, jwks_server, make_token, collected_static
):
    require_postgresql()
    require_redis()
    User.objects.create_superuser("boss", "boss@example.com", "right-password")
    env = {
        "DATABASE_URL": database_url(),
        "BETTER_AUTH_URL": jwks_server.origin,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "flood-test-" + "x" * 40,
        "DJANGO_STATIC_ROOT": str(collected_static),
        "API_USER_THROTTLE_RATE": "off",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": f"test-{uuid.uuid4().hex}:",
    }
    token = make_token("user-a")
    idle, during, attempts = [], [], []
    # The production worker model: WEB_CONCURRENCY=2 sync workers, which hash passwords in-line.
    with Gunicorn(env, workers=2, threads=1) as server:
        api_latencies(server.url, token, 1)  # each worker fetches the JWKS once
        # Another process floods: flooding threads here would share the probe's interpreter lock.
        # Idle and flood alternate, so that the shared machine's own load, which drifts from second
        # to second, weighs on both alike.
        with multiprocessing.get_context("fork").Pool(1) as pool:
            for _ in range(FLOOD_ROUNDS):
                idle += api_latencies(server.url, token, FLOOD_SECONDS)
                flood = pool.apply_async(
                    flood_from_one_process, (server.url, FLOOD_CLIENTS, FLOOD_SECONDS, ATTEMPTS_PER_SECOND)
                )
                during += api_latencies(server.url, token, FLOOD_SECONDS)
                attempts += flood.get(timeout=120)
    idle, during = statistics.median(idle), statistics.median(during)
    logging.getLogger(__name__).info(
        "API median %.1f ms idle, %.1f ms during %d login attempts in %d x %.1f s from %d clients (%s)",
        idle * 1000,
        during * 1000,
        len(attempts),
        FLOOD_ROUNDS,
        FLOOD_SECONDS,
        FLOOD_CLIENTS,
        dict(collections.Counter(attempts)),
    )
    assert set(attempts) <= {200, 429} and 429 in attempts
    assert during <= 2 * idle
