"""The Procfile's web process: nginx on $PORT in front of gunicorn on a private unix socket.

gunicorn's sync workers handle one connection each and wait on it for as long as the client
likes, so two clients sending half a request would stop the API; nginx reads requests and
responses whole before handing them on (see deploy/nginx.conf). Both run in the foreground
under this script, which renders nginx's configuration from the environment, stops the other one
when either exits, and on SIGTERM (a deploy) drains: nginx finishes the requests it has, then
gunicorn stops (SIGINT stops both at once).

    python deploy/web.py          # what the Procfile runs; PORT, WEB_CONCURRENCY, ... as usual
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from string import Template

DEPLOY_DIR = Path(__file__).resolve().parent
PROJECT_DIR = DEPLOY_DIR.parent
TEMPLATE = DEPLOY_DIR / "nginx.conf"
ERROR_PAGES = DEPLOY_DIR / "error_pages.conf"
# The app's default API_MAX_BODY_BYTES (taskapi/settings.py).
DEFAULT_MAX_BODY_BYTES = 256 * 1024


def nginx_values(environ, runtime_dir):
    """The values of nginx.conf's placeholders, from the same variables the app reads."""
    return {
        "LISTEN": f"{environ.get('WEB_BIND_HOST', '0.0.0.0')}:{environ.get('PORT', '8000')}",
        "UPSTREAM": f"unix:{runtime_dir}/gunicorn.sock",
        "RUNTIME_DIR": str(runtime_dir),
        "MAX_BODY_BYTES": environ.get("API_MAX_BODY_BYTES", "").strip() or str(DEFAULT_MAX_BODY_BYTES),
        "CLIENT_TIMEOUT": environ.get("WEB_CLIENT_TIMEOUT", "").strip() or "10",
        # A little longer than gunicorn's own limit, so gunicorn's answer (or its 502) comes first.
        "UPSTREAM_TIMEOUT": str(int(environ.get("GUNICORN_TIMEOUT", "").strip() or "30") + 5),
    }


def render_nginx_config(values, template=TEMPLATE):
    """A deploy/ nginx template (nginx.conf unless told) with its capitalised placeholders filled in.

    ERROR_PAGES, in a `server` block, becomes deploy/error_pages.conf itself, so the result stands
    alone; nginx's own $variables are left alone.
    """
    error_pages = textwrap.indent(ERROR_PAGES.read_text(), " " * 8).strip()
    text = Template(template.read_text()).safe_substitute({"ERROR_PAGES": error_pages, **values})
    missing = re.findall(r"\$\{[A-Z_]+\}", text)
    if missing:
        raise ValueError(f"deploy/{template.name} has placeholders without a value: {missing}")
    return text


def trusted_proxies(environ):
    """nginx here is always one proxy in front of gunicorn: DJANGO_TRUSTED_PROXY_COUNT is at least 1
    (otherwise every client would be keyed on nginx's own address); a platform router adds more."""
    return {"DJANGO_TRUSTED_PROXY_COUNT": environ.get("DJANGO_TRUSTED_PROXY_COUNT", "").strip() or "1"}


def nginx_binary(environ):
    found = environ.get("NGINX_BIN") or shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        sys.exit("deploy/web.py: nginx is not installed (apt-get install nginx, or set NGINX_BIN)")
    return found


def make_runtime_dir():
    """A private directory for the socket, nginx's configuration, pid and buffers.

    Searchable (0711) but not listable: nginx's workers may run as another user (when the
    master is root) and must reach the socket.
    """
    runtime_dir = Path(tempfile.mkdtemp(prefix="taskapi-web-"))
    runtime_dir.chmod(0o711)
    return runtime_dir


def wait_for_socket(path, gunicorn, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if gunicorn.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop(process, signum):
    if process.poll() is None:
        process.send_signal(signum)


def main():
    environ = os.environ
    nginx = nginx_binary(environ)
    runtime_dir = make_runtime_dir()
    values = nginx_values(environ, runtime_dir)
    config = runtime_dir / "nginx.conf"
    config.write_text(render_nginx_config(values))

    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "taskapi.wsgi"],
        cwd=PROJECT_DIR,
        env={**environ, "GUNICORN_BIND": values["UPSTREAM"], **trusted_proxies(environ)},
    )
    if not wait_for_socket(runtime_dir / "gunicorn.sock", gunicorn):
        stop(gunicorn, signal.SIGTERM)
        gunicorn.wait()
        shutil.rmtree(runtime_dir, ignore_errors=True)
        sys.exit("deploy/web.py: gunicorn did not start")
    proxy = subprocess.Popen([nginx, "-e", "stderr", "-p", str(runtime_dir), "-c", str(config)], cwd=runtime_dir)

    def shut_down(signum, frame):
        # nginx's QUIT finishes the requests in flight; gunicorn's TERM lets workers finish theirs.
        stop(proxy, signal.SIGQUIT)
        stop(gunicorn, signal.SIGTERM)

    def drain(signum, frame):
        # nginx first: it stops accepting and finishes what it has, which needs gunicorn still
        # listening (a request nginx has read but not yet passed on would otherwise be refused).
        # gunicorn follows once nginx has exited, below.
        stop(proxy, signal.SIGQUIT)

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, shut_down)
    # Whichever exits first (a crash, or a signal), the other follows: the platform restarts us.
    exited_pid, status = os.wait()
    shut_down(None, None)
    for process in (proxy, gunicorn):
        if process.pid != exited_pid:
            process.wait()
    shutil.rmtree(runtime_dir, ignore_errors=True)
    sys.exit(os.waitstatus_to_exitcode(status) or 0)


if __name__ == "__main__":
    main()
