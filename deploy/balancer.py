"""deploy/balancer.conf rendered for a list of instances: nginx balancing several taskapi instances.

    python -m deploy.balancer --listen 0.0.0.0:8080 10.0.0.1:8000 10.0.0.2:8000 > balancer.conf
    nginx -p /run/taskapi-balancer -c "$PWD/balancer.conf"     # in the foreground (daemon off)

The result stands alone (deploy/error_pages.conf is written into it). To deploy, render it again
with the new list of instances and `nginx -s reload` (README, "Deploys that drop nothing").
"""

import argparse
import sys
from pathlib import Path

from deploy.web import DEFAULT_MAX_BODY_BYTES, DEPLOY_DIR, render_nginx_config

TEMPLATE = DEPLOY_DIR / "balancer.conf"
# Longer than an instance's own upstream timeout (GUNICORN_TIMEOUT 30 s + 5, deploy/web.py), so
# an instance's answer, or its own 504, reaches the client before the balancer gives up.
DEFAULT_UPSTREAM_TIMEOUT = 40


def render_balancer_config(
    upstreams,
    *,
    listen,
    runtime_dir,
    max_body_bytes=DEFAULT_MAX_BODY_BYTES,
    upstream_timeout=DEFAULT_UPSTREAM_TIMEOUT,
):
    """deploy/balancer.conf round-robin over `upstreams` ("host:port" each), listening on `listen`.

    `runtime_dir` holds nginx's pid file and buffers; `max_body_bytes` must be no smaller than the
    instances' API_MAX_BODY_BYTES.
    """
    if not upstreams:
        raise ValueError("the balancer needs at least one instance")
    servers = "\n        ".join(f"server {address} max_fails=1 fail_timeout=5s;" for address in upstreams)
    values = {
        "SERVERS": servers,
        "LISTEN": listen,
        "RUNTIME_DIR": str(runtime_dir),
        "MAX_BODY_BYTES": str(max_body_bytes),
        "UPSTREAM_TIMEOUT": str(upstream_timeout),
    }
    return render_nginx_config(values, template=TEMPLATE)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m deploy.balancer",
        description="Prints deploy/balancer.conf for the given instances (nginx, round robin, JSON refusals).",
    )
    parser.add_argument("upstreams", nargs="+", metavar="HOST:PORT", help="each instance (python deploy/web.py)")
    parser.add_argument("--listen", default="0.0.0.0:8080", help="the balancer's address (default: %(default)s)")
    parser.add_argument(
        "--runtime-dir",
        type=Path,
        default=Path("/run/taskapi-balancer"),
        help="an existing directory for nginx's pid file and buffers (default: %(default)s)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest request body; no smaller than the instances' API_MAX_BODY_BYTES (default: %(default)s)",
    )
    parser.add_argument(
        "--upstream-timeout",
        type=int,
        default=DEFAULT_UPSTREAM_TIMEOUT,
        help="seconds to wait on an instance; longer than its GUNICORN_TIMEOUT + 5 (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sys.stdout.write(
        render_balancer_config(
            args.upstreams,
            listen=args.listen,
            runtime_dir=args.runtime_dir,
            max_body_bytes=args.max_body_bytes,
            upstream_timeout=args.upstream_timeout,
        )
    )


if __name__ == "__main__":
    main()
