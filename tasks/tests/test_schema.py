"""The OpenAPI document and Swagger UI, served without a token."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_documents_bearer_jwt_for_authorize(schema):
    assert schema["components"]["securitySchemes"]["betterAuthJWT"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert {"betterAuthJWT": []} in schema["paths"]["/api/tasks/"]["get"]["security"]


def test_schema_lists_both_route_shapes(schema):
    for path in ("/api/tasks/", "/api/tasks/{id}/", "/api/tasks/{id}/complete/", "/api/{user_id}/tasks/"):
        assert path in schema["paths"]


def test_list_is_documented_as_a_bare_array_with_limit_and_cursor(schema):
    operation = schema["paths"]["/api/tasks/"]["get"]
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert schema["components"]["schemas"][reference.rsplit("/", 1)[1]]["type"] == "array"
    assert {p["name"] for p in operation["parameters"]} >= {"limit", "cursor"}
    assert "Link" in operation["responses"]["200"]["headers"]


def test_swagger_ui_is_served(api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_schema_ignores_a_bad_token(api_client):
    response = api_client.get("/api/schema/", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 200


def test_swagger_ui_assets_come_from_our_static_files_not_a_cdn(api_client):
    page = api_client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    asset = api_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(asset.streaming_content)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_completed_filter_is_a_real_boolean(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/tasks/"]["get"]["parameters"]}
    assert parameters["completed"]["schema"] == {"type": "boolean"}
    assert parameters["overdue"]["schema"] == {"type": "boolean"}


def test_path_ids_are_integers_like_task_ids(schema):
    for path, _, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] == "id":
                assert parameter["schema"]["type"] == "integer", path


def test_every_field_of_a_task_answer_is_required_and_never_null_where_the_server_never_sends_null(schema):
    task = schema["components"]["schemas"]["Task"]
    assert set(task["required"]) == set(task["properties"])
    nullable = {name for name, field in task["properties"].items() if field.get("nullable")}
    assert nullable == {"due_at"}


def test_date_only_values_are_documented_where_they_are_accepted(schema):
    formats = {"date", "date-time"}
    due_at = schema["components"]["schemas"]["TaskRequest"]["properties"]["due_at"]
    assert {option["format"] for option in due_at["anyOf"]} == formats
    parameters = {p["name"]: p for p in schema["paths"]["/api/tasks/"]["get"]["parameters"]}
    for name in ("due_before", "due_after", "created_after", "updated_since"):
        assert {option["format"] for option in parameters[name]["schema"]["anyOf"]} == formats


def test_operation_ids_name_the_action_and_the_alias_shape_is_marked(schema):
    ids = {(path, method): operation["operationId"] for path, method, operation in operations(schema)}
    assert ids[("/api/tasks/", "get")] == "listTasks"
    assert ids[("/api/tasks/{id}/complete/", "patch")] == "toggleTask"
    for (path, method), operation_id in ids.items():
        operation = schema["paths"][path][method]
        if "{user_id}" in path:
            assert operation["tags"] == ["tasks-by-user-id"]
            assert operation_id == operation["x-alias-of"] + "ByUserId"
            twin = schema["paths"][path.replace("/{user_id}", "")][method]
            assert twin["operationId"] == operation["x-alias-of"]
            assert set(operation["responses"]) == set(twin["responses"]) | {"403"}
        else:
            assert "tasks-by-user-id" not in operation["tags"]
    assert len(set(ids.values())) == len(ids)


def test_every_error_answer_has_the_one_error_shape(schema):
    shapes = {
        "#/components/schemas/Error",
        "#/components/schemas/ValidationError",
        "#/components/schemas/PreconditionFailed",
    }
    for path, method, operation in operations(schema):
        if not path.startswith("/api/"):
            continue
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"]["$ref"] in shapes, (path, method, status)
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "detail"]


def test_headers_the_flows_depend_on_are_documented(schema):
    def headers(path, method, status):
        return set(schema["paths"][path][method]["responses"][status].get("headers", {}))

    assert {"ETag", "Location", "Idempotent-Replayed"} <= headers("/api/tasks/", "post", "201")
    assert "ETag" in headers("/api/tasks/{id}/", "get", "200") & headers("/api/tasks/{id}/", "get", "304")
    assert "ETag" in headers("/api/tasks/{id}/", "put", "412")
    assert "Link" in headers("/api/tasks/", "get", "200")
    assert "WWW-Authenticate" in headers("/api/tasks/", "get", "401")
    assert "Retry-After" in headers("/api/tasks/", "get", "429")


def test_operations_that_read_no_body_document_no_413_or_415(schema):
    for path, method in [
        ("/api/tasks/{id}/complete/", "patch"),
        ("/api/tasks/{id}/", "delete"),
        ("/api/tasks/", "get"),
    ]:
        assert not {"413", "415"} & set(schema["paths"][path][method]["responses"])


def test_documented_rules_idempotency_key_and_bulk(schema):
    create = schema["paths"]["/api/tasks/"]["post"]
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"]["pattern"] == r"^[\x21-\x7e]{1,255}$"
    bulk = schema["components"]["schemas"]["BulkRequest"]
    assert len(bulk["oneOf"]) == 3
    complete = schema["components"]["schemas"]["BulkCompleteRequest"]["properties"]["complete"]
    assert (complete["minItems"], complete["maxItems"]) == (1, 500)
    assert schema["paths"]["/api/tasks/bulk/"]["post"]["requestBody"]["required"] is True
