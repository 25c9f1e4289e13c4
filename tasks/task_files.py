"""The file format of exported tasks: JSON Lines or CSV, one task per row, every model field."""

import csv
import itertools
import json
from pathlib import Path

from .models import Priority
from .timestamps import utc_iso

FIELDS = (
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
)
FORMATS = ("json", "csv")
FORMAT_BY_SUFFIX = {".jsonl": "json", ".ndjson": "json", ".json": "json", ".csv": "csv"}


class RowError(ValueError):
    """A row of a task file that cannot become a task; the message says why."""


def format_of(path):
    """The format a file name implies (`tasks.csv` -> "csv"), or None."""
    return FORMAT_BY_SUFFIX.get(Path(path).suffix.lower())


def sniff_format(lines):
    """(format, lines): the format of a task file, told by its first line that is not blank, and
    all its lines again. JSON Lines start with `{`; anything else is read as CSV with a header."""
    lines = iter(lines)
    seen = []
    for line in lines:
        seen.append(line)
        if line.strip():
            break
    first = seen[-1].lstrip() if seen else "{"
    if first.startswith("["):
        raise RowError("a JSON array; import reads JSON Lines (one object per line), as export_tasks writes")
    return ("json" if first.startswith("{") else "csv"), itertools.chain(seen, lines)


def task_record(values):
    """A task's fields by name, from a `values_list(*FIELDS)` tuple, timestamps as text."""
    record = dict(zip(FIELDS, values, strict=True))
    record["priority"] = Priority(record["priority"]).label
    for name in ("due_at", "created_at", "updated_at"):
        record[name] = utc_iso(record[name])
    return record


def record_writer(out, file_format):
    """A function writing one task record to `out`; for CSV the header is written first."""
    if file_format == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        return lambda record: writer.writerow(csv_cells(record))
    return lambda record: out.write(json.dumps(record, ensure_ascii=False) + "\n")


def csv_cells(record):
    """A record as CSV text: booleans as true/false, no due date as an empty cell, tags as JSON."""
    return {
        **record,
        "completed": str(record["completed"]).lower(),
        "due_at": record["due_at"] or "",
        "tags": json.dumps(record["tags"], ensure_ascii=False),
    }


def from_csv_cells(row):
    """The inverse of csv_cells for the cells present; unreadable tags are a RowError."""
    row = dict(row)
    if row.get("due_at") == "":
        row["due_at"] = None
    if row.get("tags") not in (None, ""):
        try:
            row["tags"] = json.loads(row["tags"])
        except ValueError as e:
            raise RowError(f"tags: not a JSON list: {e}") from e
    elif "tags" in row:
        del row["tags"]
    return row


def read_rows(file, file_format):
    """(line number, row) for each task in `file`; a line that holds no row gives a RowError."""
    return read_csv_rows(file) if file_format == "csv" else read_json_rows(file)


def read_json_rows(file):
    for number, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            yield number, RowError(f"not valid JSON: {e}")
            continue
        yield number, row if isinstance(row, dict) else RowError("not a JSON object")


def read_csv_rows(file):
    reader = csv.DictReader(file)
    # Checked now, not when the first row is wanted: the rows may be consumed inside a COPY.
    missing = {"user_id", "title"} - set(reader.fieldnames or ())
    if missing:
        raise RowError(f"neither JSON Lines nor CSV with a header: the CSV header lacks {', '.join(sorted(missing))}")
    return csv_rows(reader)


def csv_rows(reader):
    line = reader.line_num + 1
    for row in reader:
        try:
            yield line, from_csv_cells(row)
        except RowError as e:
            yield line, e
        line = reader.line_num + 1
