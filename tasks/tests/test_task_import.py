"""The import's fast path for exported rows agrees with the API's serializer on every row it accepts."""

import tracemalloc
from datetime import datetime, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tasks.models import Task
from tasks.task_files import FIELDS
from tasks.task_import import RowValidator, exported_fields

MOMENTS = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)
).map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", " ", " padded ", "\x00", "\ud800", "x" * 256]
)
VALUES = {
    "id": st.integers(),
    "user_id": TEXT | st.integers(),
    "title": TEXT | st.none() | st.integers() | st.just("t" * 201),
    "description": TEXT | st.none() | st.booleans() | st.just("d" * 1001),
    "completed": st.booleans() | st.none() | st.sampled_from(["true", 1, 0, "maybe"]),
    "priority": st.sampled_from(["low", "medium", "high", "HIGH", "", 2, None, ["high"]]),
    "due_at": MOMENTS
    | st.none()
    | st.sampled_from(["2026-12-01", "2026-12-01T10:00:00+02:00", "2026-13-01T00:00:00Z", 5]),
    "tags": st.lists(TEXT, max_size=22) | st.none() | st.just("work"),
    "created_at": MOMENTS | st.sampled_from(["yesterday", "2026-12-01T10:00:00.123Z", "2026-02-30T00:00:00Z"]),
    "updated_at": MOMENTS | st.sampled_from([1700000000, "2026-12-01T10:00:00+00:00"]),
}
ROWS = st.fixed_dictionaries({}, optional=VALUES) | st.fixed_dictionaries({**VALUES, "extra": st.integers()})


def serializer_fields(row):
    return RowValidator().validated_fields(row)


@given(ROWS)
@example(
    {"user_id": "u", "title": "t", "created_at": "2026-12-01T17:30:00.000001Z", "updated_at": "2026-12-01T17:30:00Z"}
)
@example(
    {
        "user_id": " u ",
        "title": "t",
        "tags": ["Work", "home"],
        "due_at": "2026-12-01T17:30:00Z",
        "created_at": "2026-12-01T17:30:00Z",
        "updated_at": "2026-12-01T17:30:00Z",
    }
)
def test_the_fast_path_accepts_only_rows_the_serializer_reads_the_same(row):
    fast = exported_fields(row)
    if fast is None:
        return
    slow = serializer_fields(row)
    if "created_at" not in row or "updated_at" not in row:  # both paths use "now", a moment apart
        for name in ("created_at", "updated_at"):
            fast.pop(name), slow.pop(name)
    assert fast == slow


def test_the_fast_path_reads_what_export_tasks_writes():
    row = {
        "id": 7,
        "user_id": "hVz1kq9Cc3",
        "title": "Buy milk",
        "description": '2 litres,\n"oat"',
        "completed": True,
        "priority": "high",
        "due_at": "2026-12-01T23:59:59Z",
        "tags": ["home", "Errands"],
        "created_at": "2026-11-21T09:30:00.101000Z",
        "updated_at": "2026-11-21T09:31:00Z",
    }
    assert set(row) == set(FIELDS)
    assert (
        exported_fields(row)
        == serializer_fields(row)
        == {
            "user_id": "hVz1kq9Cc3",
            "title": "Buy milk",
            "description": '2 litres,\n"oat"',
            "completed": True,
            "priority": 3,
            "due_at": datetime(2026, 12, 1, 23, 59, 59, tzinfo=timezone.utc),
            "tags": ["home", "Errands"],
            "created_at": datetime(2026, 11, 21, 9, 30, 0, 101000, tzinfo=timezone.utc),
            "updated_at": datetime(2026, 11, 21, 9, 31, tzinfo=timezone.utc),
        }
    )


def peak_memory_of_import(run_command, rows, path):
    Task.objects.all().delete()
    path.write_text(
        "".join(
            f'{{"user_id": "user-{n % 50}", "title": "task {n}", "description": "{"x" * 200}", '
            f'"created_at": "2026-01-01T00:00:00.{n:06d}Z", "updated_at": "2026-01-01T00:00:00Z"}}\n'
            for n in range(rows)
        )
    )
    tracemalloc.start()
    try:
        code, out, err = run_command("import_tasks", str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (code, out) == (0, f"imported {rows} task(s)\n"), err
    return peak


@pytest.mark.django_db
def test_import_memory_does_not_grow_with_the_number_of_rows(run_command, tmp_path):
    small = peak_memory_of_import(run_command, 2_000, tmp_path / "small.jsonl")
    large = peak_memory_of_import(run_command, 20_000, tmp_path / "large.jsonl")
    # Measured: 2.7 MB at both sizes (one batch of rows and the CSV text of one COPY chunk).
    assert large < small * 2, (small, large)
