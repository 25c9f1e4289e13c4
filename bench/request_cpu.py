"""CPU per request of each scenario, in one process, for the service and the floor: one change at a time.

    python -m bench.request_cpu --database-url postgres://postgres@127.0.0.1:5432/taskapi_cpu [--instructions]

Both WSGI apps are called directly (no gunicorn, no sockets) with a really signed token, against
a database this command migrates and seeds with one user's tasks. Process CPU time is counted,
so waiting for PostgreSQL is left out; the quickest of `--rounds` rounds is printed, the round
least disturbed by neighbours. The figures are the request's own cost, the part a code change
moves: compare a commit with its parent by running this on each.

On a virtual machine whose CPU speed wanders (the same pure-Python loop timed 0.38-0.69 s in six
runs on one such machine), `--instructions` counts instructions instead: the command runs itself
again under valgrind's callgrind, which counts every instruction the process executes whatever
else the machine is doing, and the misses of a simulated first-level cache (instructions and
data), and asks it for a dump before and after each scenario's requests. Slower (several
minutes), but the same counts, within 2 %, every run.
"""

import argparse
import base64
import gc
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .issuer import TokenIssuer

USER = "bench-cpu"
OWN_TASKS = 60
# Set in the rerun under callgrind: where its dumps go, and the sign that this process is counted.
CALLGRIND_DIR = "BENCH_CALLGRIND_DIR"
# What the service's framework costs with no work to do (bench/framework_urls.py), set beside the floor's retrieve.
FRAMEWORK = "framework"
FIELDS = b'{"title":"Buy milk","description":"Two litres","completed":false,"priority":"high","tags":["home"]}'


def scenarios(first_id, deep_cursor):
    return {
        "list": ("GET", "/api/tasks", "limit=50", b""),
        "list-deep": ("GET", "/api/tasks", f"limit=50&cursor={deep_cursor}", b""),
        "retrieve": ("GET", f"/api/tasks/{first_id}", "", b""),
        "create": ("POST", "/api/tasks", "", b'{"title":"Buy milk"}'),
        "update": ("PUT", f"/api/tasks/{first_id}", "", FIELDS),
        "toggle": ("PATCH", f"/api/tasks/{first_id}/complete", "", b""),
    }


def call(app, token, method, path, query, body):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
    }
    statuses = []
    chunks = app(environ, lambda status, headers, *_: statuses.append(status))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(statuses[0].split()[0])


def cpu_microseconds(app, token, request, iterations):
    status = call(app, token, *request)
    if status >= 400:
        raise SystemExit(f"{request[0]} {request[1]}: {status}")
    started = time.process_time()
    for _ in range(iterations):
        call(app, token, *request)
    return 1e6 * (time.process_time() - started) / iterations


def measure(app, token, request, options, counting):
    """CPU microseconds per request (the quickest round), or under callgrind (instructions, L1 misses) per request."""
    if counting:
        return counts_per_request(app, token, request, options.iterations or 20)
    iterations = options.iterations or 100
    return min(cpu_microseconds(app, token, request, iterations) for _ in range(options.rounds))


def counts_per_request(app, token, request, iterations):
    """(instructions, first-level cache misses) per request, as callgrind counts them: a dump before the requests and one after.

    Warmed by as many requests first (caches filled, first-call work done), and the garbage
    collector run just before, so that neither falls on whichever scenario happens to come first.
    """
    for _ in range(iterations):
        if call(app, token, *request) >= 400:
            raise SystemExit(f"{request[0]} {request[1]}: refused")
    gc.collect()
    callgrind_dump()
    for _ in range(iterations):
        call(app, token, *request)
    callgrind_dump()
    counts = last_dump_counts()
    return counts["Ir"] / iterations, (counts["I1mr"] + counts["D1mr"] + counts["D1mw"]) / iterations


def callgrind_dump():
    """Asks callgrind to write out what this process executed since the last dump, and start counting afresh."""
    subprocess.run(["callgrind_control", "--dump", str(os.getpid())], check=True, capture_output=True)


def last_dump_counts():
    """The latest dump's totals by event (Ir, I1mr, D1mr, ...), from its header (read after the dump: not counted in it)."""
    latest = max(Path(os.environ[CALLGRIND_DIR]).glob("*.*.*"), key=lambda path: int(path.suffix[1:]))
    with latest.open() as dump:
        for line in dump:
            if line.startswith("events: "):
                events = line.split()[1:]
            elif line.startswith("summary: "):
                counts = [int(count) for count in line.split()[1:]]  # trailing zeros are left out
                return dict(zip(events, counts + [0] * (len(events) - len(counts)), strict=True))
    raise RuntimeError(f"no summary in {latest}")


def rerun_under_callgrind():
    """This command again, under callgrind (collecting from the start; the dumps split it up)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind: apt-get install -y valgrind")
    with tempfile.TemporaryDirectory(prefix="request-cpu-callgrind-") as directory:
        command = [
            "valgrind",
            "--quiet",
            "--tool=callgrind",
            "--cache-sim=yes",
            "--dump-line=no",
            f"--callgrind-out-file={directory}/callgrind.%p",
            sys.executable,
            "-m",
            "bench.request_cpu",
            *sys.argv[1:],
        ]
        # The same hash seed each run: dict and set layouts, and so the counts, repeat.
        env = {**os.environ, CALLGRIND_DIR: directory, "PYTHONHASHSEED": "0"}
        completed = subprocess.run(command, env=env, check=False)
    raise SystemExit(completed.returncode)


def seed():
    """One user's tasks (created a second apart): the newest's id, a cursor past the first two, the last id seeded."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from tasks.models import Task

    call_command("migrate", verbosity=0)
    Task.objects.filter(user_id=USER).delete()
    start = timezone.now() - timedelta(days=1)
    Task.objects.bulk_create(
        Task(user_id=USER, title=f"task {n}", description="d" * 40, tags=["home", "work"]) for n in range(OWN_TASKS)
    )
    for offset, pk in enumerate(Task.objects.filter(user_id=USER).order_by("id").values_list("pk", flat=True)):
        Task.objects.filter(pk=pk).update(created_at=start + timedelta(seconds=offset))
    newest_first = list(Task.objects.filter(user_id=USER).order_by("-created_at", "-id")[:3])
    position = {"o": "-created_at,-id", "v": [newest_first[2].created_at.isoformat(), newest_first[2].pk]}
    cursor = base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")
    return newest_first[0].pk, cursor, Task.objects.filter(user_id=USER).order_by("-pk").values_list("pk", flat=True)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--iterations", type=int, help="requests per round (default: 100; 20 with --instructions)")
    parser.add_argument("--rounds", type=int, default=15, help="rounds, the quickest printed (default: %(default)s)")
    parser.add_argument("--scenario", action="append", help="only these (repeatable)")
    parser.add_argument("--no-floor", action="store_true", help="the service alone")
    parser.add_argument(
        "--instructions", action="store_true", help="instructions and L1 misses per request, counted under callgrind"
    )
    options = parser.parse_args()
    counting = CALLGRIND_DIR in os.environ
    if options.instructions and not counting:
        rerun_under_callgrind()
    with TokenIssuer(lifetime_seconds=3600) as issuer:
        os.environ.update(
            DATABASE_URL=options.database_url,
            BETTER_AUTH_URL=issuer.origin,
            DJANGO_SETTINGS_MODULE="taskapi.settings",
            DJANGO_DEBUG="0",
            API_USER_THROTTLE_RATE="off",
            LOG_LEVEL="WARNING",
        )
        os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-request-cpu")
        import django

        django.setup()
        from django.core.wsgi import get_wsgi_application
        from django.test import override_settings

        from bench import floor_app
        from bench.framework_urls import EMPTY_DRF_PATH
        from tasks.models import Task

        first_id, deep_cursor, last_seeded = seed()
        apps = {"service": get_wsgi_application()}
        if not options.no_floor:
            apps["floor"] = floor_app.application
        token = issuer.token_for(USER)
        results = {}
        for name, request in scenarios(first_id, deep_cursor).items():
            if options.scenario and name not in options.scenario:
                continue
            for app_name, app in apps.items():
                results.setdefault(name, {})[app_name] = measure(app, token, request, options, counting)
                Task.objects.filter(user_id=USER, pk__gt=last_seeded).delete()
        if not options.scenario or FRAMEWORK in options.scenario:
            with override_settings(ROOT_URLCONF="bench.framework_urls"):
                empty_view = ("GET", EMPTY_DRF_PATH, "", b"")
                results[FRAMEWORK] = {"service": measure(apps["service"], token, empty_view, options, counting)}
        for name, by_app in results.items():
            print(f"{name:10s} {result_line(name, by_app, results, counting)}")


def result_line(name, by_app, results, counting):
    if counting:  # a change to the same code is priced by these, not one app against the other (README)
        return "  ".join(
            f"{app_name} {instructions / 1000:6.0f} k instructions {misses / 1000:4.0f} k L1 misses"
            for app_name, (instructions, misses) in by_app.items()
        )
    figures = "  ".join(f"{app_name} {us:5.0f} us" for app_name, us in by_app.items())
    if name == FRAMEWORK:
        floor_retrieve = results.get("retrieve", {}).get("floor")
        yardstick = f"; the floor's whole retrieve {floor_retrieve:.0f} us" if floor_retrieve else ""
        return f"{figures}  (an empty DRF view through every layer{yardstick})"
    shares = f"  floor/service {by_app['floor'] / by_app['service']:.0%}" if "floor" in by_app else ""
    return f"{figures}{shares}"


if __name__ == "__main__":
    main()
