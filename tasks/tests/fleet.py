"""Several instances for tests: a scratch database, PgBouncer, app instances and nginx balancing them.

with scratch_database(env) as name, PgBouncer() as pooler:
    instances = [ProxiedWeb({**env, "DATABASE_URL": pooler.url(name)}) for _ in range(3)]
    with Balancer([address_of(i) for i in instances]) as balancer: ...
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

from deploy.balancer import render_balancer_config

from .live import PROJECT_DIR, free_port, stop_process

SHARED_POSTGRESQL = "postgres://postgres@127.0.0.1:5432"


def require_program(name):
    if shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin"):
        return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI (.ci/run installs it)")
    pytest.skip(f"{name} is not installed")


def admin_statement(sql):
    connection = psycopg2.connect(f"{SHARED_POSTGRESQL}/postgres", connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


@contextlib.contextmanager
def scratch_database(env):
    """A migrated database of its own on the shared PostgreSQL, dropped afterwards; yields its name."""
    name = f"taskapi_fleet_{uuid.uuid4().hex[:12]}"
    admin_statement(f"CREATE DATABASE {name}")
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=PROJECT_DIR,
            env={**os.environ, **env, "DATABASE_URL": f"{SHARED_POSTGRESQL}/{name}"},
            check=True,
            capture_output=True,
            timeout=180,
        )
        yield name
    finally:
        admin_statement(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class PgBouncer:
    """PgBouncer in transaction-pooling mode on a free port, in front of the shared PostgreSQL (.ci/pgbouncer.sh)."""

    def __init__(self):
        require_program("pgbouncer")
        if os.geteuid() != 0:
            pytest.skip(".ci/pgbouncer.sh runs PgBouncer as the postgres user, which needs root")
        self.port = free_port()
        result = subprocess.run(
            ["bash", str(PROJECT_DIR / ".ci" / "pgbouncer.sh"), str(self.port)],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.pid_file = Path(result.stdout.strip().splitlines()[-1])

    def url(self, database):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
            os.kill(int(self.pid_file.read_text()), signal.SIGTERM)
            time.sleep(0.5)
        shutil.rmtree(self.pid_file.parent, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Balancer:
    """nginx on a free loopback port, balancing over `upstreams` ("host:port") with deploy/balancer.conf.

    `config` is more of render_balancer_config's settings (max_body_bytes, upstream_timeout).
    """

    def __init__(self, upstreams, *, start_timeout=30, **config):
        self.nginx = require_program("nginx")
        self.settings = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="taskapi-balancer-"))
        self.runtime_dir.chmod(0o711)
        self.config = self.runtime_dir / "nginx.conf"
        self.write_config(upstreams)
        self.log = open(self.runtime_dir / "stderr.log", "wb")
        self.process = subprocess.Popen(
            [self.nginx, "-e", "stderr", "-p", str(self.runtime_dir), "-c", str(self.config)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + start_timeout
        while not self.workers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {self.output()}")
            time.sleep(0.05)

    def write_config(self, upstreams):
        self.config.write_text(
            render_balancer_config(
                upstreams, listen=f"127.0.0.1:{self.port}", runtime_dir=self.runtime_dir, **self.settings
            )
        )

    def workers(self):
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as children:
                return {int(pid) for pid in children.read().split()}
        except FileNotFoundError:
            return set()

    def route_to(self, upstreams, timeout=30):
        """Reloads with only `upstreams`; returns once the workers of the old configuration have exited."""
        old_workers = self.workers()
        self.write_config(upstreams)
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.workers() & old_workers or not self.workers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not reload: {self.output()}")
            time.sleep(0.05)

    def output(self):
        return (self.runtime_dir / "stderr.log").read_text(errors="replace")[-4000:]

    def stop(self):
        stop_process(self.process)
        self.log.close()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def address_of(instance):
    return f"127.0.0.1:{instance.port}"
