"""The README's API table and the OpenAPI document say the same: paths, methods, operations, statuses."""

import re

import pytest

from .live import PROJECT_DIR

pytestmark = pytest.mark.django_db

# What every /api/ operation can answer besides its own statuses (the README says so above the table).
EVERY_OPERATION = {"400", "401", "406", "408", "414", "429", "500", "503", "504"}
# A status opens a cell or follows ", ", "; " or "or " (so "1-500 ids" and "default 100" are not ones).
STATUS = re.compile(r"(?:^|[,;] |or )([1-5][0-9]{2})\b")
ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| `(\w+)` \|(.*)\|(.*)\|$")


def readme_rows():
    text = (PROJECT_DIR / "README.md").read_text()
    rows = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            method, path, operation_id, success, others = match.groups()
            statuses = set(STATUS.findall(success.strip())) | set(STATUS.findall(others.strip()))
            rows[(method.lower(), path)] = (operation_id, statuses)
    return rows


def documented_operations(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, item in schema["paths"].items():
        if "{user_id}" in path:
            continue
        for method, operation in item.items():
            yield (method, path.rstrip("/")), operation


def test_readme_api_table_matches_the_document(api_client):
    rows = readme_rows()
    documented = dict(documented_operations(api_client))
    assert set(rows) == set(documented)
    for key, operation in documented.items():
        operation_id, statuses = rows[key]
        assert operation_id == operation["operationId"], key
        extra = EVERY_OPERATION if key[1].startswith("/api/") else set()
        assert statuses | extra == set(operation["responses"]), key
