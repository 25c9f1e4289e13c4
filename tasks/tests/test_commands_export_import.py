"""export_tasks and import_tasks: streamed files of every field, validated all-or-nothing loads."""

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
import tracemalloc
from datetime import datetime, timezone

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks import progress, task_import
from tasks.management.commands import export_tasks, import_tasks
from tasks.models import Priority, Task

from .live import PROJECT_DIR, database_url, require_postgresql

pytestmark = pytest.mark.django_db

FIELDS = [
    "id",
    "user_id",
    "title",
    "description",
    "completed",
    "priority",
    "due_at",
    "tags",
    "created_at",
    "updated_at",
]


def iso(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def stored_tasks():
    """Every task as a comparable tuple, without the id (import assigns new ones)."""
    return sorted(Task.objects.values_list("user_id", "title", "description", "completed", "created_at", "updated_at"))


@pytest.fixture
def two_users_tasks(make_task):
    return [
        make_task("user-a", title="Buy milk", description='2 litres,\n"oat"', completed=True),
        make_task("user-a", title="Ünïcode ✓", description=""),
        make_task("user-b", title="Call Bob"),
    ]


@pytest.mark.parametrize("command", ["export_tasks", "import_tasks"])
def test_transfer_commands_have_help(run_command, capsys, command):
    with pytest.raises(SystemExit) as exit:
        run_command(command, "--help")
    assert exit.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_export_writes_json_lines_with_every_field_in_id_order(run_command, two_users_tasks):
    code, out, err = run_command("export_tasks")
    assert code == 0
    rows = json_lines(out)
    assert [row["id"] for row in rows] == sorted(task.id for task in two_users_tasks)
    first = two_users_tasks[0]
    assert rows[0] == {
        "id": first.id,
        "user_id": "user-a",
        "title": "Buy milk",
        "description": '2 litres,\n"oat"',
        "completed": True,
        "priority": "medium",
        "due_at": None,
        "tags": [],
        "created_at": iso(first.created_at),
        "updated_at": iso(first.updated_at),
    }
    assert rows[0]["created_at"].endswith("Z")
    assert "exported 3 task(s) as json" in err


def test_export_writes_csv_with_a_header(run_command, two_users_tasks):
    code, out, _ = run_command("export_tasks", "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == ",".join(FIELDS)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["title"] for row in rows] == ["Buy milk", "Ünïcode ✓", "Call Bob"]
    assert rows[0]["description"] == '2 litres,\n"oat"'
    assert [row["completed"] for row in rows] == ["true", "false", "false"]
    assert rows[2]["created_at"] == iso(two_users_tasks[2].created_at)


def test_export_of_one_user_leaves_the_others_out(run_command, two_users_tasks):
    _, out, err = run_command("export_tasks", "--user", "user-b")
    assert [row["title"] for row in json_lines(out)] == ["Call Bob"]
    assert "exported 1 task(s)" in err


def test_export_to_a_csv_file_takes_the_format_from_its_name(run_command, two_users_tasks, tmp_path):
    path = tmp_path / "tasks.csv"
    code, out, err = run_command("export_tasks", "--output", str(path))
    assert code == 0
    assert out == ""
    assert path.read_text(encoding="utf-8").startswith(",".join(FIELDS) + "\n")
    assert f"exported 3 task(s) as csv to {path}" in err


def test_export_to_an_unwritable_place_is_an_error(run_command, tmp_path):
    code, _, err = run_command("export_tasks", "--output", str(tmp_path / "missing" / "tasks.jsonl"))
    assert code == 1
    assert f"cannot write {tmp_path / 'missing' / 'tasks.jsonl'}: No such file or directory" in err


def test_export_shows_progress_on_a_terminal_only(run_command, make_task, monkeypatch, terminal):
    monkeypatch.setattr(export_tasks, "CHUNK_SIZE", 2)
    for _ in range(4):
        make_task()
    stderr = terminal()
    call_command("export_tasks", stdout=io.StringIO(), stderr=stderr)
    assert "\r[" + "#" * 15 + "." * 15 + "] 2/4" in stderr.getvalue()
    assert stderr.getvalue().endswith("\r[" + "#" * 30 + "] 4/4\nexported 4 task(s) as json\n")
    _, _, err = run_command("export_tasks")
    assert "\r" not in err


def test_export_reads_the_table_one_chunk_per_query(run_command, make_task, monkeypatch, tmp_path):
    monkeypatch.setattr(export_tasks, "CHUNK_SIZE", 10)
    Task.objects.bulk_create(Task(user_id=f"user-{n % 7}", title=f"task {n}") for n in range(95))
    with CaptureQueriesContext(connection) as queries:
        code, _, _ = run_command("export_tasks", "--output", str(tmp_path / "tasks.jsonl"))
    assert code == 0
    count, *chunks = [query["sql"] for query in queries.captured_queries]
    assert "COUNT(*)" in count  # the total, for the progress report
    assert len(chunks) == 10
    assert all("LIMIT 10" in sql for sql in chunks)
    assert len((tmp_path / "tasks.jsonl").read_text().splitlines()) == 95


def peak_memory_of_export(run_command, rows, path):
    Task.objects.all().delete()
    Task.objects.bulk_create(
        (Task(user_id=f"user-{n % 50}", title=f"task {n}", description="x" * 200) for n in range(rows)), batch_size=1000
    )
    tracemalloc.start()
    try:
        code, _, _ = run_command("export_tasks", "--output", str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0
    return peak


@pytest.mark.parametrize("pooled", [False, True])
def test_export_memory_does_not_grow_with_the_number_of_rows(run_command, monkeypatch, tmp_path, pooled):
    # DATABASE_POOLED (PgBouncer in transaction mode) turns Django's server-side cursors off.
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", pooled)
    monkeypatch.setattr(export_tasks, "CHUNK_SIZE", 200)
    small = peak_memory_of_export(run_command, 2_000, tmp_path / "small.jsonl")
    large = peak_memory_of_export(run_command, 20_000, tmp_path / "large.jsonl")
    # Measured: 0.3 MB and 0.4 MB; with .iterator() and no server-side cursor, 1.2 MB and 12 MB.
    assert large < small * 2, (small, large)


def round_trip(run_command, tmp_path, name):
    path = tmp_path / name
    assert run_command("export_tasks", "--output", str(path))[0] == 0
    before = stored_tasks()
    Task.objects.all().delete()
    code, out, err = run_command("import_tasks", str(path))
    return code, out, err, before


@pytest.mark.parametrize("name", ["tasks.jsonl", "tasks.csv"])
def test_import_restores_an_export_with_its_timestamps(run_command, two_users_tasks, tmp_path, name):
    Task.objects.filter(pk=two_users_tasks[0].pk).update(created_at=datetime(2020, 1, 2, 3, 4, 5, 678901, timezone.utc))
    code, out, err, before = round_trip(run_command, tmp_path, name)
    assert code == 0
    assert out == "imported 3 task(s)\n"
    assert err == ""
    assert stored_tasks() == before


def test_import_gives_new_ids_so_existing_tasks_are_untouched(run_command, two_users_tasks, tmp_path):
    path = tmp_path / "tasks.jsonl"
    run_command("export_tasks", "--output", str(path))
    Task.objects.filter(title="Call Bob").update(created_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    code, out, _ = run_command("import_tasks", str(path))
    assert (code, out) == (0, "imported 1 task(s); 2 already there, skipped\n")
    assert Task.objects.count() == 4
    assert set(Task.objects.values_list("id", flat=True)) > {task.id for task in two_users_tasks}
    assert Task.objects.filter(title="Call Bob").count() == 2


def test_imported_tasks_are_served_by_the_api_in_their_original_order(run_command, auth_client, tmp_path):
    path = tmp_path / "tasks.jsonl"
    rows = [
        {
            "user_id": "user-a",
            "title": "older",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-02T00:00:00Z",
        },
        {
            "user_id": "user-a",
            "title": "newer",
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
        },
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in reversed(rows)))
    assert run_command("import_tasks", str(path))[0] == 0
    body = auth_client("user-a").get("/api/tasks").json()
    assert [(task["title"], task["created_at"], task["updated_at"]) for task in body] == [
        ("newer", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("older", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"),
    ]


def test_import_applies_the_apis_normalisation(run_command, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps({"user_id": "user-a", "title": "  padded  ", "description": None}) + "\n\n")
    assert run_command("import_tasks", str(path))[0] == 0
    task = Task.objects.get()
    assert (task.title, task.description, task.completed) == ("padded", "", False)


def test_import_dry_run_checks_and_writes_nothing(run_command, two_users_tasks, tmp_path):
    path = tmp_path / "tasks.csv"
    run_command("export_tasks", "--output", str(path))
    Task.objects.all().delete()
    code, out, _ = run_command("import_tasks", str(path), "--dry-run")
    assert code == 0
    assert out == "3 valid task(s); nothing written (dry run)\n"
    assert Task.objects.count() == 0


GOOD_ROW = {"user_id": "user-a", "title": "fine"}

INVALID_ROWS = [
    ({"user_id": "user-a", "title": ""}, "title: This field may not be blank."),
    ({"user_id": "user-a", "title": "   "}, "title: This field may not be blank."),
    ({"user_id": "user-a"}, "title: This field is required."),
    ({"user_id": "user-a", "title": 42}, "title: Not a valid string."),
    ({"user_id": "user-a", "title": "t" * 201}, "title: Ensure this field has no more than 200 characters."),
    ({"user_id": "user-a", "title": "nul\u0000"}, "title: Null characters are not allowed."),
    ({"user_id": "user-a", "title": "\ud800"}, "title: Unpaired surrogate characters are not allowed."),
    (
        {"user_id": "user-a", "title": "t", "description": "d" * 1001},
        "description: Ensure this field has no more than 1000 characters.",
    ),
    ({"user_id": "user-a", "title": "t", "completed": "maybe"}, "completed: Must be a valid boolean."),
    ({"title": "t"}, "user_id: This field is required."),
    ({"user_id": "", "title": "t"}, "user_id: This field may not be blank."),
    ({"user_id": "   ", "title": "t"}, "user_id: This field may not be blank."),
    ({"user_id": 7, "title": "t"}, "user_id: Not a valid string."),
    ({"user_id": "u" * 256, "title": "t"}, "user_id: Ensure this field has no more than 255 characters."),
    ({"user_id": "user-a", "title": "t", "created_at": "yesterday"}, "created_at: Datetime has wrong format."),
    ({"user_id": "user-a", "title": "t", "updated_at": 1700000000}, "updated_at: Datetime has wrong format."),
    (["user-a", "t"], "not a JSON object"),
]


@pytest.mark.parametrize("row, message", INVALID_ROWS)
def test_import_refuses_a_file_with_an_invalid_row_and_writes_nothing(run_command, tmp_path, row, message):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in [GOOD_ROW, row, GOOD_ROW]) + "\n")
    code, out, err = run_command("import_tasks", str(path))
    assert code == 1
    assert out == ""
    assert f"line 2: {message}" in err
    assert "CommandError: 1 invalid row(s); nothing imported" in err
    assert Task.objects.count() == 0


def test_import_reports_every_invalid_row_with_its_line(run_command, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join([json.dumps(GOOD_ROW), "{not json", json.dumps(GOOD_ROW), json.dumps({"title": ""})]))
    code, _, err = run_command("import_tasks", str(path))
    assert code == 1
    assert err.splitlines() == [
        "line 2: not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "line 4: user_id: This field is required.; title: This field may not be blank.",
        "CommandError: 2 invalid row(s); nothing imported",
    ]


def test_import_rolls_back_batches_already_inserted(run_command, tmp_path, monkeypatch):
    monkeypatch.setattr(task_import, "BATCH_SIZE", 2)
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in [GOOD_ROW] * 5 + [{"title": "no owner"}]))
    code, _, err = run_command("import_tasks", str(path))
    assert code == 1
    assert "line 6: user_id: This field is required." in err
    assert Task.objects.count() == 0


@pytest.mark.parametrize("rows", [4, 5])
def test_import_inserts_every_batch_full_or_not(run_command, tmp_path, monkeypatch, rows):
    monkeypatch.setattr(task_import, "BATCH_SIZE", 2)
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps({**GOOD_ROW, "title": f"task {n}"}) + "\n" for n in range(rows)))
    assert run_command("import_tasks", str(path))[:2] == (0, f"imported {rows} task(s)\n")
    assert sorted(Task.objects.values_list("title", flat=True)) == [f"task {n}" for n in range(rows)]


def test_import_reports_csv_errors_at_the_line_where_the_row_starts(run_command, tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text('user_id,title,description\nuser-a,ok,"two\nlines"\nuser-a,,blank title\n')
    code, _, err = run_command("import_tasks", str(path))
    assert code == 1
    assert "line 4: title: This field may not be blank." in err


def test_import_of_csv_without_the_needed_columns_is_an_error(run_command, tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text("id,description\n1,x\n")
    code, _, err = run_command("import_tasks", str(path))
    assert code == 1
    assert (
        f"cannot read {path}: neither JSON Lines nor CSV with a header: the CSV header lacks title, user_id; nothing imported"
        in err
    )


def test_import_takes_the_format_from_the_option_over_the_content(run_command, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text("user_id,title\n" + "u,{not json\n")
    code, _, err = run_command("import_tasks", str(path), "--format", "json")
    assert code == 1
    assert "line 1: not valid JSON" in err
    assert run_command("import_tasks", str(path))[:2] == (0, "imported 1 task(s)\n")


def test_import_of_a_missing_file_is_an_error(run_command, tmp_path):
    code, _, err = run_command("import_tasks", str(tmp_path / "absent.jsonl"))
    assert code == 1
    assert "No such file or directory" in err


def test_import_of_a_file_that_is_not_utf8_writes_nothing(run_command, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(json.dumps(GOOD_ROW).encode() + b"\n" + b'{"title": "caf\xe9"}\n')
    code, _, err = run_command("import_tasks", str(path))
    assert code == 1
    assert "'utf-8' codec can't decode" in err
    assert Task.objects.count() == 0


@pytest.mark.parametrize("name", ["planned.jsonl", "planned.csv"])
def test_priority_due_date_and_tags_survive_export_and_import(run_command, make_task, tmp_path, name):
    due = datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc)
    make_task("user-p", title="planned", priority=Priority.HIGH, due_at=due, tags=["Work", "home, garden"])
    make_task("user-p", title="unplanned")
    path = tmp_path / name
    assert run_command("export_tasks", "--output", str(path))[0] == 0
    Task.objects.all().delete()
    assert run_command("import_tasks", str(path))[0] == 0
    planned = Task.objects.get(title="planned")
    assert (planned.priority, planned.due_at, planned.tags) == (Priority.HIGH, due, ["Work", "home, garden"])
    assert planned.tag_keys == {"work": True, "home, garden": True}
    unplanned = Task.objects.get(title="unplanned")
    assert (unplanned.priority, unplanned.due_at, unplanned.tags) == (Priority.MEDIUM, None, [])


def test_import_refuses_more_than_twenty_tags(run_command, tmp_path):
    path = tmp_path / "tags.jsonl"
    path.write_text(json.dumps({"user_id": "u", "title": "t", "tags": [f"t{i}" for i in range(21)]}) + "\n")
    code, _, err = run_command("import_tasks", str(path))
    assert code == 1
    assert "line 1: tags:" in err
    assert not Task.objects.exists()


@pytest.mark.parametrize("file_format", ["json", "csv"])
def test_import_tells_the_format_from_the_content_not_the_name(run_command, two_users_tasks, tmp_path, file_format):
    backup = tmp_path / "backup"
    _, out, _ = run_command("export_tasks", "--format", file_format)
    backup.write_text(out, encoding="utf-8")
    before = stored_tasks()
    Task.objects.all().delete()
    assert run_command("import_tasks", str(backup))[:2] == (0, "imported 3 task(s)\n")
    assert stored_tasks() == before


@pytest.mark.parametrize("file_format", ["json", "csv"])
def test_import_reads_standard_input(run_command, two_users_tasks, io_input, file_format):
    _, out, _ = run_command("export_tasks", "--format", file_format)
    Task.objects.all().delete()
    assert run_command("import_tasks", "-", stdin=io_input(out))[:2] == (0, "imported 3 task(s)\n")
    assert Task.objects.count() == 3


def test_import_of_a_json_array_says_what_it_reads_instead(run_command, tmp_path):
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([GOOD_ROW]))
    code, _, err = run_command("import_tasks", str(path))
    assert code == 1
    assert "a JSON array; import reads JSON Lines (one object per line), as export_tasks writes" in err


@pytest.mark.parametrize("name", ["tasks.jsonl", "tasks.csv"])
def test_importing_the_same_export_twice_adds_nothing_the_second_time(run_command, two_users_tasks, tmp_path, name):
    path = tmp_path / name
    run_command("export_tasks", "--output", str(path))
    Task.objects.filter(title="Call Bob").delete()
    assert run_command("import_tasks", str(path))[:2] == (0, "imported 1 task(s); 2 already there, skipped\n")
    after_first = stored_tasks()
    assert run_command("import_tasks", str(path))[:2] == (0, "imported 0 task(s); 3 already there, skipped\n")
    assert stored_tasks() == after_first
    assert len(after_first) == 3


def test_a_task_differing_in_title_or_moment_is_not_taken_for_one_already_there(run_command, make_task, tmp_path):
    task = make_task("user-a", title="Buy milk")
    same = {
        "user_id": "user-a",
        "title": "Buy milk",
        "created_at": iso(task.created_at),
        "updated_at": iso(task.created_at),
    }
    rows = [
        same,
        {**same, "title": "Buy bread"},
        {**same, "user_id": "user-b"},
        {**same, "created_at": iso(task.created_at.replace(microsecond=(task.created_at.microsecond + 1) % 10**6))},
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert run_command("import_tasks", str(path))[:2] == (0, "imported 3 task(s); 1 already there, skipped\n")


def test_import_keeps_the_files_order_in_new_ids(run_command, tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps({**GOOD_ROW, "title": f"task {n}"}) + "\n" for n in (3, 1, 2)))
    assert run_command("import_tasks", str(path))[0] == 0
    assert list(Task.objects.order_by("id").values_list("title", flat=True)) == ["task 3", "task 1", "task 2"]


def test_import_of_bytes_that_are_not_utf8_deep_in_a_large_file_writes_nothing(run_command, tmp_path, monkeypatch):
    # Past the first chunk of text, so that the bad byte is met while the rows are being staged.
    monkeypatch.setattr(task_import, "BATCH_SIZE", 10)
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(
        b"".join(json.dumps({**GOOD_ROW, "title": f"t{n}"}).encode() + b"\n" for n in range(2000))
        + b'{"user_id": "u", "title": "caf\xe9"}\n'
    )
    code, _, err = run_command("import_tasks", str(path))
    assert code == 1
    assert "'utf-8' codec can't decode" in err
    assert Task.objects.count() == 0


def test_import_shows_a_bar_on_a_terminal(run_command, tmp_path, monkeypatch, terminal):
    monkeypatch.setattr(import_tasks, "PROGRESS_EVERY", 2)
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps({**GOOD_ROW, "title": f"task {n}"}) + "\n" for n in range(4)))
    stderr = terminal()
    call_command("import_tasks", str(path), stdout=io.StringIO(), stderr=stderr)
    assert stderr.getvalue().startswith("\r[")
    assert stderr.getvalue().endswith("\r[" + "#" * 30 + "] 4\n")


@pytest.mark.parametrize("command", ["export_tasks", "import_tasks"])
def test_progress_is_a_line_with_counts_and_rate_when_stderr_is_not_a_terminal(
    run_command, make_task, tmp_path, monkeypatch, command
):
    monkeypatch.setattr(progress, "LINE_INTERVAL", 0)
    monkeypatch.setattr(export_tasks, "CHUNK_SIZE", 2)
    monkeypatch.setattr(import_tasks, "PROGRESS_EVERY", 2)
    path = tmp_path / "tasks.jsonl"
    for n in range(4):
        make_task(title=f"task {n}")
    run_command("export_tasks", "--output", str(path))
    args = ["--output", str(tmp_path / "again.jsonl")] if command == "export_tasks" else [str(path), "--dry-run"]
    code, _, err = run_command(command, *args)
    assert code == 0
    lines = [line for line in err.splitlines() if " in " in line]
    expected = (
        r"exported 2/4 task\(s\) in \d+ s, \d+/s"
        if command == "export_tasks"
        else r"read 2 task\(s\) \(\d+%\) in \d+ s, \d+/s"
    )
    assert lines and re.fullmatch(expected, lines[0]), err
    assert "\r" not in err


@pytest.mark.django_db(transaction=True)
def test_export_piped_into_head_ends_quietly():
    require_postgresql()
    Task.objects.bulk_create(Task(user_id="user-a", title=f"task {n}", description="x" * 500) for n in range(3000))
    script = f'{sys.executable} manage.py export_tasks | head -n 2; echo "status ${{PIPESTATUS[0]}}"'
    env = {**os.environ, "DATABASE_URL": database_url(), "BETTER_AUTH_URL": "http://127.0.0.1:3000"}
    result = subprocess.run(
        ["bash", "-c", script], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert len(result.stdout.splitlines()) == 3
    assert result.stdout.splitlines()[-1] == "status 141"
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_insert_it_once(tmp_path):
    require_postgresql()
    path = tmp_path / "tasks.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    **GOOD_ROW,
                    "title": f"task {n}",
                    "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": "2026-01-01T00:00:00Z",
                }
            )
            + "\n"
            for n in range(3000)
        )
    )
    env = {**os.environ, "DATABASE_URL": database_url(), "BETTER_AUTH_URL": "http://127.0.0.1:3000"}
    imports = [
        subprocess.Popen(
            [sys.executable, "manage.py", "import_tasks", str(path)],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = sorted(process.communicate(timeout=120)[0] for process in imports)
    assert outputs == ["imported 0 task(s); 3000 already there, skipped\n", "imported 3000 task(s)\n"]
    assert Task.objects.count() == 3000


def table_indexes():
    """tasks_task's indexes as PostgreSQL describes them, and whether each is valid."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid), indisvalid FROM pg_index WHERE indrelid = 'tasks_task'::regclass"
        )
        return sorted(cursor.fetchall())


@contextlib.contextmanager
def a_reader_in_the_table():
    """Another session inside a transaction that has read tasks_task (as an API request does), until the block ends."""
    db = connection.settings_dict
    reader = psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432)
    try:
        with reader.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tasks_task")
            yield
    finally:
        reader.close()


def exported_file(run_command, tmp_path):
    path = tmp_path / "tasks.jsonl"
    assert run_command("export_tasks", "--output", str(path))[0] == 0
    return path


def test_restore_loads_an_export_into_an_empty_table_and_builds_every_index_again(
    run_command, two_users_tasks, tmp_path
):
    require_postgresql()
    path = exported_file(run_command, tmp_path)
    expected, indexes = stored_tasks(), table_indexes()
    assert len(indexes) >= 8  # the primary key and the model's seven
    Task.objects.all().delete()

    code, out, err = run_command("import_tasks", str(path), "--restore")
    assert (code, out) == (0, "imported 3 task(s)\n")
    assert stored_tasks() == expected
    in_file_order = [row["title"] for row in json_lines(path.read_text())]
    assert list(Task.objects.order_by("id").values_list("title", flat=True)) == in_file_order
    assert table_indexes() == indexes and all(valid for _, valid in indexes)
    assert err.count("built index ") == len(indexes) - 1  # all but the primary key's


def test_restore_refuses_a_table_that_holds_tasks(run_command, two_users_tasks, tmp_path):
    path = exported_file(run_command, tmp_path)
    Task.objects.filter(user_id="user-b").delete()
    before = stored_tasks()
    code, out, err = run_command("import_tasks", str(path), "--restore")
    assert (code, out) == (1, "")
    assert "--restore needs an empty table, and tasks are already there" in err
    assert stored_tasks() == before


def test_a_restore_that_fails_after_the_insert_leaves_the_table_empty_with_every_index(
    run_command, two_users_tasks, tmp_path, settings
):
    require_postgresql()
    path = exported_file(run_command, tmp_path)
    indexes = table_indexes()
    Task.objects.all().delete()
    settings.API_MAX_TASKS_PER_USER = 1  # user-a has two tasks in the file: the quota check after the insert fails

    code, _, err = run_command("import_tasks", str(path), "--restore")
    assert code == 1 and "would be over API_MAX_TASKS_PER_USER=1" in err
    assert Task.objects.count() == 0
    assert table_indexes() == indexes


def test_a_restore_of_a_file_with_an_invalid_row_at_its_end_writes_nothing(run_command, two_users_tasks, tmp_path):
    require_postgresql()
    path = exported_file(run_command, tmp_path)
    with path.open("a") as file:
        file.write(json.dumps({**GOOD_ROW, "title": ""}) + "\n")
    indexes = table_indexes()
    Task.objects.all().delete()
    code, _, err = run_command("import_tasks", str(path), "--restore")
    assert code == 1 and "line 4: title: This field may not be blank." in err
    assert Task.objects.count() == 0
    assert table_indexes() == indexes


@pytest.mark.django_db(transaction=True)
def test_restore_waits_for_the_tables_lock_at_most_its_lock_timeout(run_command, tmp_path):
    require_postgresql()
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(GOOD_ROW) + "\n")
    with a_reader_in_the_table():
        code, out, err = run_command("import_tasks", str(path), "--restore", "--lock-timeout", "300ms")
    assert (code, out) == (1, "")
    assert "its lock was not granted within 300ms (stop the API first); nothing imported" in err
    assert Task.objects.count() == 0
    assert run_command("import_tasks", str(path), "--restore")[:2] == (0, "imported 1 task(s)\n")


WORDS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30)
EXPORTED_ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "user_id": st.sampled_from(["user-a", "user-b", "Ü-c"]),
            "title": WORDS,
            "created_at": st.sampled_from(
                ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000001Z", "2025-06-30T12:00:00+05:00"]
            ),
        },
        optional={
            "description": WORDS | st.just(""),
            "completed": st.booleans(),
            "priority": st.sampled_from(["low", "medium", "high"]),
            "due_at": st.none() | st.sampled_from(["2026-12-01T10:00:00Z", "2026-12-01", "2027-02-28T23:00:00+02:00"]),
            "tags": st.lists(st.sampled_from(["work", "Work", "home", "ärger"]), max_size=3),
        },
    ),
    min_size=1,
    max_size=12,
)


@given(rows=EXPORTED_ROWS)
@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_a_restore_stores_what_an_ordinary_import_stores(run_command, tmp_path, rows):
    path = tmp_path / "generated.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    Task.objects.all().delete()
    ordinary = run_command("import_tasks", str(path))
    ordinary_tasks = stored_tasks_with_planning()
    Task.objects.all().delete()
    restored = run_command("import_tasks", str(path), "--restore")
    assert restored[:2] == ordinary[:2]
    if ordinary[0] == 0:
        assert stored_tasks_with_planning() == ordinary_tasks


def stored_tasks_with_planning():
    fields = ("user_id", "title", "description", "completed", "priority", "due_at", "created_at", "tags", "tag_keys")
    return sorted(
        (*values[:-2], json.dumps(values[-2:], sort_keys=True)) for values in Task.objects.values_list(*fields)
    )


@pytest.mark.parametrize("value", ["soon", "10 s", "-1s", "1.5s", ""])
def test_restore_refuses_a_lock_timeout_that_is_not_a_duration(run_command, tmp_path, value):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(GOOD_ROW) + "\n")
    code, _, err = run_command("import_tasks", str(path), "--restore", f"--lock-timeout={value}")
    assert code != 0 and f"{value!r} is not a duration such as 500ms, 10s or 1min" in err
    assert Task.objects.count() == 0
