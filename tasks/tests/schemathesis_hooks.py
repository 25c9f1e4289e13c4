"""schemathesis hooks for tasks/tests/test_schema_fuzz.py (loaded through schemathesis.toml)."""
import schemathesis


@schemathesis.hook
def filter_case(ctx, case):
    """Send no made-up `cursor`.

    A cursor is an opaque position the server issues in a `Link` header; no schema can tell a
    made-up string from an issued one, so the tool would count a rightly refused made-up cursor
    (400) as a valid request rejected. Bad cursors are tested in test_pagination.py.
    """
    return not case.query or "cursor" not in case.query
