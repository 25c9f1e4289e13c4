"""The production topology (deploy/web.py): nginx buffers clients in front of gunicorn's sync workers.

The flood tests start the real thing, as the Procfile does: nginx on a free loopback port,
gunicorn with gunicorn.conf.py behind it on a unix socket, DEBUG off, PostgreSQL.
"""

import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from socketserver import ThreadingMixIn, UnixStreamServer

import pytest

from deploy.web import DEFAULT_MAX_BODY_BYTES, nginx_binary, nginx_values, render_nginx_config

from .live import (
    Gunicorn,
    Load,
    ProxiedWeb,
    call,
    database_url,
    free_port,
    raw_request,
    require_nginx,
    require_postgresql,
    stop_process,
)

logger = logging.getLogger(__name__)

# Half a request line and headers, then silence (slowloris).
HALF_HEADERS = b"GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
# Whole headers announcing a body, then part of the body and silence.
HALF_BODY = (
    b'POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"ti'
)
# What the other clients do meanwhile.
READS_AND_WRITES = [("GET", "/api/tasks?limit=20", None)] * 3 + [("POST", "/api/tasks", {"title": "during the flood"})]


@pytest.fixture
def production_env(transactional_db, jwks_server):
    """DEBUG off, a real secret, pytest's PostgreSQL database, two sync workers."""
    require_postgresql()
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "web-test-" + os.urandom(24).hex(),
        "DATABASE_URL": database_url(),
        "BETTER_AUTH_URL": jwks_server.origin,
        "API_USER_THROTTLE_RATE": "off",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
    }


def open_half_open_connections(port, count, kinds=(HALF_HEADERS, HALF_BODY)):
    """`count` connections that each send part of a request and go quiet."""
    connections = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(kinds[n % len(kinds)])
        connections.append(sock)
    return connections


def still_waiting(sock):
    """True while the server has neither answered nor closed the connection."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
    return False


def close_all(connections):
    for sock in connections:
        sock.close()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def test_two_half_open_connections_stall_gunicorn_alone(production_env):
    """The finding: without the proxy, two quiet clients hold both sync workers."""
    with Gunicorn(production_env, workers=2, threads=1) as server:
        assert call("GET", f"{server.url}/health")[0] == 200
        quiet = open_half_open_connections(server.port, 2, kinds=[HALF_HEADERS])
        try:
            with pytest.raises(OSError):  # a timeout: nobody is left to answer
                call("GET", f"{server.url}/health", timeout=3)
        finally:
            close_all(quiet)


def test_the_proxied_topology_serves_everyone_during_a_flood_of_100_half_open_connections(production_env, make_token):
    with ProxiedWeb(production_env) as web:
        token = make_token("user-flood")
        assert call("POST", f"{web.url}/api/tasks", token=token, body={"title": "first"})[0] == 201
        quiet = open_half_open_connections(web.port, 100)
        try:
            with Load(web.url, token, READS_AND_WRITES, threads=4, timeout=10) as load:
                time.sleep(5)
            assert all(still_waiting(sock) for sock in quiet), "the flood must last the whole measurement"
        finally:
            close_all(quiet)

    statuses = {answer.status for answer in load.answers}
    latencies = [answer.seconds for answer in load.answers]
    assert statuses <= {200, 201}, statuses
    assert len(latencies) >= 20
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    logger.info(
        "web: 100 half-open connections held; %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms",
        len(latencies),
        p50 * 1000,
        p99 * 1000,
        max(latencies) * 1000,
    )
    assert p99 < 1.0


def test_a_quiet_connection_is_closed_after_the_client_timeout(production_env):
    with ProxiedWeb({**production_env, "WEB_CLIENT_TIMEOUT": "1"}) as web:
        quiet = open_half_open_connections(web.port, 2)
        try:
            started = time.monotonic()
            for sock in quiet:
                sock.settimeout(10)
                assert sock.recv(1000) == b""  # closed without an answer
            assert time.monotonic() - started < 1 + 4
        finally:
            close_all(quiet)


def test_sigterm_stops_nginx_and_gunicorn_together(production_env):
    web = ProxiedWeb(production_env)
    children = child_pids(web.process.pid)
    assert len(children) == 2  # gunicorn's master and nginx's
    web.stop()
    assert web.process.returncode is not None
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", web.port), timeout=2)


def child_pids(pid):
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


# --- nginx alone, with the rendered configuration and a stand-in upstream ---


class Nginx:
    """nginx with deploy/nginx.conf rendered for a free loopback port and the given upstream."""

    def __init__(self, upstream_socket, **overrides):
        require_nginx()
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="taskapi-nginx-test-"))
        self.runtime_dir.chmod(0o711)
        self.port = free_port()
        values = nginx_values({"WEB_BIND_HOST": "127.0.0.1", "PORT": str(self.port), **os.environ}, self.runtime_dir)
        values.update(LISTEN=f"127.0.0.1:{self.port}", UPSTREAM=f"unix:{upstream_socket}", **overrides)
        config = self.runtime_dir / "nginx.conf"
        config.write_text(render_nginx_config(values))
        self.process = subprocess.Popen(
            [nginx_binary(os.environ), "-e", "stderr", "-p", str(self.runtime_dir), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def raw(self, request, timeout=10):
        return raw_request(self.port, request, timeout)

    def stop(self):
        stop_process(self.process)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


class EchoHandler(BaseHTTPRequestHandler):
    """Answers with the headers and the body length it received, as JSON."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = json.dumps(
            {
                "x-forwarded-for": self.headers.get("X-Forwarded-For"),
                "x-forwarded-proto": self.headers.get("X-Forwarded-Proto"),
                "host": self.headers.get("Host"),
                "content-length": self.headers.get("Content-Length"),
                "transfer-encoding": self.headers.get("Transfer-Encoding"),
                "body-length": len(body),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


class EchoServer(ThreadingMixIn, UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def upstream_dir():
    directory = Path(tempfile.mkdtemp(prefix="taskapi-upstream-"))
    directory.chmod(0o777)  # nginx's workers run as another user when the tests run as root
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def echo_nginx(upstream_dir):
    path = upstream_dir / "echo.sock"
    server = EchoServer(str(path), EchoHandler)
    path.chmod(0o777)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    nginx = Nginx(path)
    yield nginx
    nginx.stop()
    server.shutdown()
    server.server_close()


LIMIT = DEFAULT_MAX_BODY_BYTES

# Requests nginx refuses itself with the default limits (test_instances.py sends them to the balancer).
NGINX_REFUSALS = [
    pytest.param(b"NOT AN HTTP REQUEST\r\n\r\n", 400, "bad_request", id="garbage-request-line"),
    pytest.param(
        b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400, "bad_request", id="bad-header-line"
    ),
    pytest.param(
        b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
        400,
        "bad_request",
        id="header-too-large",
    ),
    pytest.param(b"TRACE /api/tasks HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed", id="trace"),
    pytest.param(
        b"GET /api/tasks?" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long", id="uri-too-long"
    ),
    pytest.param(
        b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (LIMIT + 1),
        413,
        "request_too_large",
        id="declared-body-too-large",
    ),
    pytest.param(
        b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (LIMIT + 1)
        + b"a" * (LIMIT + 1)
        + b"\r\n0\r\n\r\n",
        413,
        "request_too_large",
        id="chunked-body-too-large",
    ),
]


@pytest.mark.parametrize("request_bytes, status, code", NGINX_REFUSALS)
def test_nginx_refusals_are_json(echo_nginx, request_bytes, status, code):
    answer_status, head, body = echo_nginx.raw(request_bytes)
    assert answer_status == status
    assert "Content-Type: application/json" in head
    assert json.loads(body)["code"] == code


def test_nginx_refuses_trace_itself_with_an_allow_header(echo_nginx):
    status, head, _ = echo_nginx.raw(b"TRACE /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 405
    assert "Allow: GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE" in head


def test_nginx_internal_error_pages_cannot_be_requested(echo_nginx):
    status, head, body = echo_nginx.raw(b"GET /_nginx/413 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (status, json.loads(body)) == (404, {"detail": "Not found.", "code": "not_found"})


def test_body_of_exactly_the_limit_is_passed_on_whole(echo_nginx):
    request = b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % LIMIT
    status, _, body = echo_nginx.raw(request + b"a" * LIMIT)
    assert status == 200 and json.loads(body)["body-length"] == LIMIT


def test_the_upstream_gets_whole_bodies_and_the_proxy_headers(echo_nginx):
    request = (
        b"POST /api/tasks HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n"
        b"X-Forwarded-For: 203.0.113.9\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    status, _, body = echo_nginx.raw(request)
    seen = json.loads(body)
    assert status == 200
    # nginx appends the address it was reached from: the last entry is the one it vouches for.
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["host"] == "api.example.com"
    # A chunked body reaches gunicorn whole, with its length.
    assert (seen["content-length"], seen["transfer-encoding"], seen["body-length"]) == ("5", None, 5)


def test_a_tls_routers_forwarded_proto_is_kept(echo_nginx):
    request = (
        b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-Proto: https\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert json.loads(echo_nginx.raw(request)[2])["x-forwarded-proto"] == "https"


def test_an_unreachable_gunicorn_is_a_json_503(upstream_dir):
    nginx = Nginx(upstream_dir / "nobody-listens.sock")
    try:
        status, head, body = nginx.raw(b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    finally:
        nginx.stop()
    assert status == 503 and "Retry-After: 5" in head
    assert json.loads(body) == {
        "detail": "The service is unavailable; try again shortly.",
        "code": "service_unavailable",
    }


def test_a_gunicorn_that_does_not_answer_is_a_json_504(upstream_dir):
    path = upstream_dir / "silent.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    path.chmod(0o777)
    listener.listen(8)
    nginx = Nginx(path, UPSTREAM_TIMEOUT="1")
    try:
        status, _, body = nginx.raw(b"GET /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    finally:
        nginx.stop()
        listener.close()
    assert (status, json.loads(body)["code"]) == (504, "upstream_timeout")
