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
