"""The benchmark's price of the framework alone: two routes that do no work (bench/framework_urls.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.breakdown import EMPTY_DRF, FLOOR_RETRIEVE, FLOOR_TOKEN_CHECK, framework_lines
from bench.framework_urls import EMPTY_DJANGO_PATH, EMPTY_DRF_PATH


@pytest.fixture
def framework_urls(settings):
    settings.ROOT_URLCONF = "bench.framework_urls"


def test_the_empty_drf_view_refuses_a_request_without_a_token_as_the_api_does(framework_urls, api_client):
    response = api_client.get(EMPTY_DRF_PATH)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


def test_the_empty_drf_view_answers_a_really_signed_token_through_every_middleware(framework_urls, user_client):
    response = user_client.get(EMPTY_DRF_PATH)

    assert response.status_code == 200
    assert response.json() == {"id": 1}
    assert "no-store" in response["Cache-Control"]  # the API's own middleware saw it as an API request
    assert response["X-Request-ID"]


def test_the_empty_django_view_goes_through_the_middleware_alone(framework_urls, api_client):
    response = api_client.get(EMPTY_DJANGO_PATH)

    assert response.status_code == 200
    assert response.content == b'{"id":1}'
    assert "no-store" in response["Cache-Control"]


def test_the_product_routes_answer_as_before_under_the_framework_urlconf(framework_urls, user_client, make_task):
    task = make_task(user_id="user-a", title="Buy milk")

    assert user_client.get(f"/api/tasks/{task.pk}").json()["title"] == "Buy milk"
    assert user_client.get("/api/tasks/0").status_code == 404


def test_the_framework_sentence_states_the_share_and_the_budget_the_retrieve_target_leaves():
    text = " ".join(framework_lines({EMPTY_DRF: 210.0, FLOOR_RETRIEVE: 200.0, "other": 1.0}))

    assert "costs 210 us, 105% of the floor's whole retrieve" in text
    assert "allows the service 286 us" in text  # 200 / 0.70
    assert "leaves 76 us for the task's own work" in text


def test_the_framework_sentence_names_the_floors_own_signature_check_when_it_was_timed():
    without = " ".join(framework_lines({EMPTY_DRF: 210.0, FLOOR_RETRIEVE: 200.0}))
    with_check = " ".join(framework_lines({EMPTY_DRF: 210.0, FLOOR_RETRIEVE: 200.0, FLOOR_TOKEN_CHECK: 110.0}))

    assert "signature" not in without
    assert "(200 us, 110 us of it a signature verified on every request" in with_check


def test_the_framework_sentence_is_left_out_without_both_figures():
    assert framework_lines({FLOOR_RETRIEVE: 200.0}) == []
    assert framework_lines({EMPTY_DRF: 200.0}) == []


@given(
    framework=st.floats(min_value=1, max_value=10_000, allow_nan=False),
    floor=st.floats(min_value=1, max_value=10_000, allow_nan=False),
)
def test_the_budget_left_is_never_negative_and_never_more_than_the_target_allows(framework, floor):
    text = " ".join(framework_lines({EMPTY_DRF: framework, FLOOR_RETRIEVE: floor}))

    left = int(text.split("leaves ")[1].split(" us")[0])
    allowed = int(text.split("allows the service ")[1].split(" us")[0])
    assert 0 <= left <= allowed
    assert abs(allowed - floor / 0.70) <= 0.5
