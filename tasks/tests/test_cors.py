"""CORS: the configured frontend origin may call /api/ with Authorization and read paging headers."""

import pytest

pytestmark = pytest.mark.django_db

FRONTEND = "https://app.example.com"


@pytest.fixture(autouse=True)
def frontend_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONTEND]


def test_preflight_from_the_frontend_allows_authorization(api_client):
    response = api_client.options(
        "/api/tasks",
        HTTP_ORIGIN=FRONTEND,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, if-match, idempotency-key",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    allowed = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed
    assert "PATCH" in response["Access-Control-Allow-Methods"]


def test_the_frontend_can_read_link_location_and_etag(auth_client, make_task):
    for i in range(3):
        make_task("user-a", title=f"t{i}")
    response = auth_client("user-a").get("/api/tasks?limit=1", HTTP_ORIGIN=FRONTEND)
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"link", "location", "etag"} <= exposed


def test_other_origins_get_no_cors_headers(api_client):
    response = api_client.options(
        "/api/tasks", HTTP_ORIGIN="https://evil.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in response


def test_every_response_header_the_document_lists_is_exposed_to_browsers(api_client, auth_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    documented = {
        name.lower()
        for path, item in schema["paths"].items()
        if path.startswith("/api/")
        for operation in item.values()
        for response in operation["responses"].values()
        for name in response.get("headers", {})
    }
    response = auth_client("user-a").get("/api/tasks", HTTP_ORIGIN=FRONTEND)
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert documented >= {"etag", "location", "link", "www-authenticate", "retry-after", "idempotent-replayed"}
    assert documented <= exposed


def test_a_refused_token_still_lets_the_frontend_read_why(api_client):
    response = api_client.get("/api/tasks", HTTP_ORIGIN=FRONTEND, HTTP_AUTHORIZATION="Bearer x")
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert "www-authenticate" in response["Access-Control-Expose-Headers"].lower()


def test_credentialed_requests_are_not_allowed_so_a_preflight_with_credentials_fails(api_client):
    """No cookies are used: the browser refuses a `credentials: 'include'` call without this header."""
    response = api_client.options(
        "/api/tasks",
        HTTP_ORIGIN=FRONTEND,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response["Access-Control-Allow-Origin"] == FRONTEND
    assert "Access-Control-Allow-Credentials" not in response
