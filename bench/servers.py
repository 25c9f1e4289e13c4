"""The apps a run serves: gunicorn (alone, or behind nginx as deploy/web.py runs it) on a free loopback
port, nginx balancing several, and what /proc says."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.balancer import render_balancer_config

from .paths import PROJECT_DIR


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class App:
    """A WSGI app to serve: gunicorn's `module:variable` and the environment it runs in."""

    name: str
    wsgi: str
    env: dict = field(default_factory=dict)
    header_auth: bool = False


class Gunicorn:
    """An app under gunicorn on a free loopback port; `with` stops it and its workers."""

    def __init__(self, app, *, workers, threads):
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{app.name}-", suffix=".log", delete=False)
        command = [
            # The production settings (logging included); the flags after it override the rest.
            sys.executable,
            "-m",
            "gunicorn",
            app.wsgi,
            "--config",
            str(PROJECT_DIR / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "60",
        ]
        self.process = subprocess.Popen(
            command, cwd=PROJECT_DIR, env={**os.environ, **app.env}, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_until_listening(self, timeout=60):
        """Waits for the port to accept connections; no request is made, so no query either."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app.name} exited: {self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.app.name} did not start in {timeout}s: {self.output()}")

    def worker_rss_bytes(self):
        """Resident memory of each worker process (the master's children)."""
        return [rss_bytes(pid) for pid in self.worker_pids()]

    def worker_cpu_seconds(self):
        """User plus system CPU time the workers have used so far."""
        return sum(cpu_seconds(pid) for pid in self.worker_pids())

    def worker_pids(self):
        return child_pids(self.process.pid)

    def proxy_cpu_seconds(self):
        """CPU time of the instance's own nginx so far: none here."""
        return 0.0

    def output(self):
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        os.unlink(self.log.name)

    def __enter__(self):
        try:
            self.wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()


class Web(Gunicorn):
    """An app as the Procfile runs it (deploy/web.py: nginx on a free loopback port in front of gunicorn
    on a unix socket, reading gunicorn.conf.py); `with` stops both."""

    def __init__(self, app, *, workers, threads):
        if app.wsgi != "taskapi.wsgi":
            raise ValueError(f"deploy/web.py serves taskapi.wsgi, not {app.wsgi}")
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{app.name}-web-", suffix=".log", delete=False)
        env = {
            **os.environ,
            **app.env,
            "PORT": str(self.port),
            "WEB_BIND_HOST": "127.0.0.1",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_TIMEOUT": "60",
        }
        self.process = subprocess.Popen(
            [sys.executable, "deploy/web.py"], cwd=PROJECT_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def worker_pids(self):
        """gunicorn's workers: the children of the gunicorn master that deploy/web.py started."""
        return [worker for master in self.masters(nginx=False) for worker in child_pids(master)]

    def proxy_cpu_seconds(self):
        """CPU time of the instance's nginx (master and worker) so far."""
        return sum(cpu_seconds(pid) for master in self.masters(nginx=True) for pid in [master, *child_pids(master)])

    def masters(self, *, nginx):
        return [pid for pid in child_pids(self.process.pid) if is_nginx(pid) == nginx]


class Balancer:
    """nginx with deploy/balancer.conf on a free loopback port, round robin over `instances`."""

    def __init__(self, instances):
        nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
        if nginx is None:
            raise RuntimeError("nginx is missing: apt-get install -y nginx")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="bench-balancer-"))
        config = render_balancer_config(
            [f"127.0.0.1:{i.port}" for i in instances],
            listen=f"127.0.0.1:{self.port}",
            runtime_dir=self.runtime_dir,
            upstream_timeout=70,  # the instances' gunicorn timeout is 60 s (and their own nginx's 65 s)
        )
        (self.runtime_dir / "nginx.conf").write_text(config)
        self.log = open(self.runtime_dir / "stderr.log", "wb")
        self.process = subprocess.Popen(
            [nginx, "-e", "stderr", "-p", str(self.runtime_dir), "-c", str(self.runtime_dir / "nginx.conf")],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def cpu_seconds(self):
        """CPU time of nginx's master and worker so far."""
        return sum(cpu_seconds(pid) for pid in [self.process.pid, *child_pids(self.process.pid)])

    def __enter__(self):
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


def child_pids(parent_pid):
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(parent_pid):
            children.append(int(status.parent.name))
    return children


def is_nginx(pid):
    return Path(f"/proc/{pid}/comm").read_text().strip() == "nginx"


def cpu_seconds(pid):
    # Fields 14 and 15 of /proc/<pid>/stat, counted after the parenthesised command name.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
