"""The API's JSON renderer (orjson, behind DRF's renderer seam) writes what DRF's own JSONRenderer would."""

import json
from datetime import UTC, datetime

from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

# What a body can hold: text without unpaired surrogates (PostgreSQL stores none, and the parsers
# refuse them), integers a bigint holds, floats, booleans, null, lists and objects, whose keys
# may be positions (DRF's errors for a list's items).
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"))
)
BODIES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10) | st.integers(0, 30), inner, max_size=5)
    ),
)


def render(renderer_class, data):
    return renderer_class().render(data, "application/json", {})


def api_renderer():
    return api_settings.DEFAULT_RENDERER_CLASSES[0]


def test_the_api_renders_with_orjson():
    assert api_renderer().__module__ == "drf_orjson_renderer.renderers"


@given(BODIES)
def test_any_body_renders_to_the_same_json_as_drfs_renderer(body):
    ours, drfs = render(api_renderer(), body), render(JSONRenderer, body)
    assert (json.loads(ours) == json.loads(drfs)) if body is not None else (ours == drfs == b"")


def test_drfs_own_types_render_as_drf_renders_them():
    body = {
        "title": [ErrorDetail("This field is required.", code="required")],
        "lazy": gettext_lazy("Not found."),
        "text": "caf\u00e9 \u2028 \U0001f600",
        "tasks": [{"id": 2**63 - 1, "tags": []}],
        "tags": {0: [ErrorDetail("Not a valid string.", code="invalid")]},
    }
    assert json.loads(render(api_renderer(), body)) == json.loads(render(JSONRenderer, body))


def test_the_body_is_compact_utf8():
    assert render(api_renderer(), {"a": ["é", 1]}) == '{"a":["é",1]}'.encode()


def test_an_instant_reaches_the_renderer_already_written():
    """The API writes instants itself (tasks/timestamps.py), so orjson's own datetime format never shows."""
    moment = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert render(api_renderer(), {"at": moment}) == b'{"at":"2026-01-02T03:04:05.123456+00:00"}'
