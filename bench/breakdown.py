"""Where a request's CPU goes: each layer of the list and retrieve paths timed on its own, in-process.

Run by `bench/run.py` as `python -m bench.breakdown USER TOKEN TASK_ID` with the service's
environment; prints one JSON object of microseconds per call, which `framework_lines` reads for
docs/performance.md. Process CPU time is counted, so waiting for PostgreSQL is left out and
neighbours on a shared machine matter little.
"""

import json
import os
import sys
import time

import django

from bench.scenarios import SCENARIOS_BY_NAME

ITERATIONS = 300
PAGE = 50
# The framework alone: a request through every layer that does no work (bench/framework_urls.py).
EMPTY_DJANGO = "an empty Django view: whole request through the middleware (no gunicorn, no test client)"
EMPTY_DRF = "an empty DRF view with the API's authentication, permission and renderer: the same"
FLOOR_RETRIEVE = "retrieve: floor app, whole request (no gunicorn)"
FLOOR_TOKEN_CHECK = "the floor's token check (PyJWT: the EdDSA signature verified on every request)"


def cpu_microseconds(function, iterations=ITERATIONS):
    function()
    started = time.process_time()
    for _ in range(iterations):
        function()
    return round(1e6 * (time.process_time() - started) / iterations, 1)


def floor_call(path, token):
    from bench import floor_app

    return wsgi_call(floor_app.application, path, token)


def floor_token_check(token):
    from bench import floor_app

    environ = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return lambda: floor_app.caller(environ)


def wsgi_call(application, path, token):
    """A GET of `path` straight into a WSGI app, to time once it has answered 200: a refusal would price the wrong work."""
    from bench.request_cpu import call

    request = ("GET", path.split("?")[0], path.partition("?")[2], b"")
    status = call(application, token, *request)
    if status != 200:
        raise RuntimeError(f"GET {path}: {status}")
    return lambda: call(application, token, *request)


def layers(user, token, task_id):
    from django.core.wsgi import get_wsgi_application
    from django.test import Client
    from rest_framework.request import Request
    from rest_framework.settings import api_settings
    from rest_framework.test import APIRequestFactory

    from bench.framework_urls import EMPTY_DJANGO_PATH, EMPTY_DRF_PATH
    from tasks.authentication import BetterAuthJWTAuthentication
    from tasks.models import Task
    from tasks.serializers import TaskSerializer

    client, header = Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    django_app = get_wsgi_application()
    request = Request(APIRequestFactory().get("/api/tasks", **header))
    page = list(Task.objects.owned_by(user).order_by("-created_at", "-id")[:PAGE])
    page_data = TaskSerializer(page, many=True).data
    renderer = api_settings.DEFAULT_RENDERER_CLASSES[0]()
    return {
        "list of 50: whole Django request (test client, no gunicorn)": lambda: client.get(
            f"/api/tasks?limit={PAGE}", **header
        ),
        "list of 50: floor app, whole request (no gunicorn)": floor_call(f"/api/tasks?limit={PAGE}", token),
        "retrieve: whole Django request (test client, no gunicorn)": lambda: client.get(
            f"/api/tasks/{task_id}", **header
        ),
        FLOOR_RETRIEVE: floor_call(f"/api/tasks/{task_id}", token),
        EMPTY_DJANGO: wsgi_call(django_app, EMPTY_DJANGO_PATH, token),
        EMPTY_DRF: wsgi_call(django_app, EMPTY_DRF_PATH, token),
        FLOOR_TOKEN_CHECK: floor_token_check(token),
        "token verification (BetterAuthJWTAuthentication.authenticate; a token verified before comes from the cache)": lambda: (
            BetterAuthJWTAuthentication().authenticate(request)
        ),
        "list query, 51 rows as model instances (ORM)": lambda: list(
            Task.objects.owned_by(user).order_by("-created_at", "-id")[: PAGE + 1]
        ),
        "list query, 51 rows as values, as the list reads them (ORM)": lambda: list(
            Task.objects.owned_by(user).order_by("-created_at", "-id").values(*TaskSerializer.Meta.fields)[: PAGE + 1]
        ),
        "retrieve query, one model instance (ORM)": lambda: Task.objects.owned_by(user).get(pk=task_id),
        "retrieve query as the API reads it (owned_task: SQL through raw())": lambda: Task.objects.owned_task(
            user, task_id
        ),
        "TaskSerializer validating a create's body (fields copied, not rebuilt)": lambda: TaskSerializer(
            data={"title": "Buy milk"}
        ).is_valid(raise_exception=True),
        "the same with the fields rebuilt from the model (DRF's default)": lambda: rebuilt_fields_serializer(
            TaskSerializer
        )(data={"title": "Buy milk"}).is_valid(raise_exception=True),
        "TaskSerializer, 50 tasks": lambda: TaskSerializer(page, many=True).data,
        "TaskSerializer, one task": lambda: TaskSerializer(page[0]).data,
        "the API's JSON renderer (orjson), 50 tasks": lambda: renderer.render(page_data),
    }


def rebuilt_fields_serializer(serializer_class):
    """`serializer_class` with ModelSerializer's own get_fields(), which rebuilds the fields on every instance."""
    from rest_framework.serializers import ModelSerializer

    return type("Rebuilt" + serializer_class.__name__, (serializer_class,), {"get_fields": ModelSerializer.get_fields})


def framework_lines(breakdown):
    """What the framework alone costs, against the floor's retrieve and the CPU the retrieve target allows."""
    if EMPTY_DRF not in breakdown or FLOOR_RETRIEVE not in breakdown:
        return []
    framework, floor = breakdown[EMPTY_DRF], breakdown[FLOOR_RETRIEVE]
    allowed = floor / SCENARIOS_BY_NAME["retrieve"].floor_share_target
    token_check = breakdown.get(FLOOR_TOKEN_CHECK)
    of_which = (
        f" {token_check:.0f} us of it a signature verified on every request, which the service's cache of"
        " verified tokens spares it;"
        if token_check
        else ""
    )
    return [
        "With no work to do, a request through Django, the middleware and DRF (an empty view with the API's"
        f" authentication) costs {framework:.0f} us, {framework / floor:.0%} of the floor's whole retrieve"
        f" ({floor:.0f} us,{of_which} its SELECT included). The retrieve target allows the service"
        f" {allowed:.0f} us, so it leaves {max(allowed - framework, 0):.0f} us for the task's own work: reading"
        " it, checking its owner, its ETag and its JSON.",
        "",
    ]


def main():
    user, token, task_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskapi.settings")
    django.setup()
    from django.test import override_settings

    with override_settings(ROOT_URLCONF="bench.framework_urls"):
        timings = {name: cpu_microseconds(function) for name, function in layers(user, token, task_id).items()}
    sys.stdout.write(json.dumps(timings) + "\n")


if __name__ == "__main__":
    main()
