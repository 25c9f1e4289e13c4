"""schemathesis hooks for tasks/tests/test_schema_fuzz.py (loaded through schemathesis.toml).

Each hook leaves out generated values that the document cannot tell apart from valid ones,
so the tool would count a rightly refused request (400) as a valid one rejected. Each rule
they stand for has its own tests.
"""

import schemathesis


@schemathesis.hook
def filter_case(ctx, case):
    query = case.query or {}
    return "cursor" not in query and not names_a_field_twice(query.get("ordering"))


def names_a_field_twice(ordering):
    """`ordering=title,-title`: "each field once" is no regular expression validators share
    (it needs a back-reference; jsonschema-rs and hypothesis disagree on lookarounds).
    test_planning.py tests the 400.

    (`cursor` is left out entirely: it is an opaque position the server issues in `Link`;
    no schema can tell a made-up string from an issued one. test_pagination.py tests bad ones.)
    """
    if not isinstance(ordering, str):
        return False
    fields = [term.strip().lstrip("-") for term in ordering.split(",")]
    return len(set(fields)) != len(fields)
