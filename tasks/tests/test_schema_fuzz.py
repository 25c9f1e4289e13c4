"""schemathesis against our own OpenAPI document: no 5xx, and every answer matches the document.

Generation is derandomized (a fixed seed) and bounded per operation, so CI runs the same
cases every time in a few seconds.
"""
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", get_wsgi_application(), headers={"Accept": "application/vnd.oai.openapi+json"}
)


@pytest.fixture
def test_connection_survives_requests():
    """As Django's test client does: a request's end must not close the test's connection.

    schemathesis calls the WSGI app directly, so Django's close_old_connections would
    otherwise close the connection that holds the test's transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded_tasks(make_task):
    """A few tasks of the fuzzing user, so generated ids sometimes hit a real row."""
    return [make_task("user-a", title=f"seed {i}") for i in range(3)]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, make_token, seeded_tasks, test_connection_survives_requests):
    case.call_and_validate(headers={"Authorization": f"Bearer {make_token('user-a')}"}, checks=CHECKS)
