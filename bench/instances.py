"""`python -m bench.instances`: what one, two and three instances behind nginx do on this machine.

Seeds a database of its own (regular users only), then for each instance count starts that many
taskapi instances (gunicorn, `--workers` sync workers each) behind nginx with
deploy/balancer.conf, and loads the balancer with wrk (the list and mix scenarios of
`python -m bench.run`). Every instance shares one PostgreSQL and this machine's cores: the
figures show what adding instances on one box gives, not what adding boxes gives.

    python -m bench.instances --instances 1,2,3 --seconds 15
"""

import argparse
import secrets
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tasks.tests.fleet import Balancer

from .issuer import TokenIssuer
from .load import run_wrk
from .paths import PROJECT_DIR
from .run import TOKEN_LIFETIME, ensure_tools
from .scenarios import SCENARIOS, base_env
from .seed import REGULAR_USER, SeedPlan, migrate, recreate_database, seed
from .servers import App, Gunicorn

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/taskapi_bench_instances"


def emit(text=""):
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.instances", description=__doc__)
    add = parser.add_argument
    add("--database-url", default=DEFAULT_DATABASE_URL, help="dropped and recreated (default: %(default)s)")
    add("--users", type=int, default=500, help="regular users of 50 tasks (default: %(default)s)")
    add("--instances", default="1,2,3", help="instance counts to measure (default: %(default)s)")
    add("--workers", type=int, default=2, help="gunicorn sync workers per instance (default: %(default)s)")
    add("--scenarios", default="list,mix", help="bench.run scenarios to run (default: %(default)s)")
    add("--seconds", type=int, default=15, help="measured seconds per scenario and count (default: %(default)s)")
    add("--warmup-seconds", type=int, default=3, help="unmeasured seconds before each (default: %(default)s)")
    add("--threads", type=int, default=2, help="wrk threads (default: %(default)s)")
    add("--connections", type=int, default=16, help="wrk connections (default: %(default)s)")
    return parser.parse_args(argv)


class Seeding:
    """What base_env needs of a bench.run Run: the tokens file and the seeded row layout."""

    def __init__(self, args, workdir, issuer):
        plan = SeedPlan(args.users, 50, big_user_tasks=50, total_rows=0)
        recreate_database(args.database_url)
        migrate({**app_env(args, issuer), "PYTHONPATH": str(PROJECT_DIR)})
        self.first_task_id = seed(args.database_url, plan).first_id
        self.tasks_per_user = plan.tasks_per_user
        users = [REGULAR_USER.format(k) for k in range(args.users)]
        self.tokens_file = str(workdir / "tokens.txt")
        Path(self.tokens_file).write_text("".join(f"{user} {issuer.token_for(user)}\n" for user in users))


def app_env(args, issuer):
    return {
        "DATABASE_URL": args.database_url,
        "BETTER_AUTH_URL": issuer.origin,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": f"bench-only-{secrets.token_urlsafe(40)}",
        "API_USER_THROTTLE_RATE": "off",
        "LOG_LEVEL": "WARNING",
    }


def wait_until_serving(instance, timeout=120):
    """Until /health answers: the port listens as soon as the master does, long before its workers serve."""
    instance.wait_until_listening(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{instance.url}/health", timeout=10).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"instance did not serve in {timeout}s: {instance.output()}")


def measure(args, app, seeding, scenario, count):
    """req/s and latency of `scenario` through nginx over `count` fresh instances."""
    instances = [Gunicorn(app, workers=args.workers, threads=1) for _ in range(count)]
    try:
        for instance in instances:
            wait_until_serving(instance)
        with Balancer([f"127.0.0.1:{i.port}" for i in instances]) as balancer:
            env = base_env(seeding, app)
            load = {"threads": args.threads, "connections": args.connections}
            run_wrk(balancer.url, scenario.script, env, seconds=args.warmup_seconds, **load)
            return run_wrk(balancer.url, scenario.script, env, seconds=args.seconds, **load)
    finally:
        for instance in instances:
            instance.stop()


def main(argv=None):
    args = parse_args(argv)
    ensure_tools()
    scenarios = [s for s in SCENARIOS if s.name in args.scenarios.split(",")]
    counts = [int(n) for n in args.instances.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="taskapi-bench-") as workdir, TokenIssuer(TOKEN_LIFETIME) as issuer:
        seeding = Seeding(args, Path(workdir), issuer)
        app = App("service", "taskapi.wsgi", app_env(args, issuer))
        for scenario in scenarios:
            for count in counts:
                started = time.monotonic()
                result = measure(args, app, seeding, scenario, count)
                rows.append((scenario.name, count, result))
                emit(
                    f"{scenario.name:6} {count} instance(s): {result.requests_per_second:7.0f} req/s "
                    f"({time.monotonic() - started:.0f} s)"
                )
    emit()
    emit("| scenario | instances | workers | req/s | p50 ms | p99 ms | errors |")
    emit("|---|---|---|---|---|---|---|")
    for name, count, result in rows:
        emit(
            f"| {name} | {count} | {count * args.workers} | {result.requests_per_second:.0f} | "
            f"{result.p50_us / 1000:.1f} | {result.p99_us / 1000:.1f} | {result.errors} |"
        )


if __name__ == "__main__":
    main()
