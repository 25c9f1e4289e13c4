"""CPU per request of each scenario, in one process, for the service and the floor: one change at a time.

    python -m bench.request_cpu --database-url postgres://postgres@127.0.0.1:5432/taskapi_cpu

Both WSGI apps are called directly (no gunicorn, no sockets) with a really signed token, against
a database this command migrates and seeds with one user's tasks. Process CPU time is counted,
so waiting for PostgreSQL is left out; the quickest of `--rounds` rounds is printed, the round
least disturbed by neighbours. The figures are the request's own cost, the part a code change
moves: compare a commit with its parent by running this on each.
"""

import argparse
import base64
import io
import json
import os
import time

from .issuer import TokenIssuer

USER = "bench-cpu"
OWN_TASKS = 60
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
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--scenario", action="append", help="only these (repeatable)")
    parser.add_argument("--no-floor", action="store_true", help="the service alone")
    options = parser.parse_args()
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

        from bench import floor_app
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
                rounds = [cpu_microseconds(app, token, request, options.iterations) for _ in range(options.rounds)]
                results.setdefault(name, {})[app_name] = round(min(rounds))
                Task.objects.filter(user_id=USER, pk__gt=last_seeded).delete()
        for name, by_app in results.items():
            shares = f"  floor/service {by_app['floor'] / by_app['service']:.0%}" if "floor" in by_app else ""
            figures = "  ".join(f"{app_name} {us:5d} us" for app_name, us in by_app.items())
            print(f"{name:10s} {figures}{shares}")


if __name__ == "__main__":
    main()
