"""One task read or written by its owner and id in one SQL statement, where the ORM costs more than the statement.

The ORM compiles its query on every call: for one task by primary key that was most of a
retrieve's CPU; and Django 5.2 has no UPDATE ... RETURNING, so an update had to read the row
before writing it, one more round trip to the database (docs/performance.md). The statements
here name the model's own columns and run through `raw()`, which maps the row to a Task with
each field's converters, on the database given. PostgreSQL and SQLite (3.35 and later) run both.
"""

import functools

from django.db import connections, router

MAX_ID = 2**63 - 1  # a bigint, the primary key's type
# A write's value for a boolean field that sets it to the opposite of what the row holds.
FLIPPED = object()


def read_owned(tasks, user_id, pk):
    """The owner's task `pk` without `tag_keys`, read from `tasks`' database; None if there is none."""
    pk = storable_id(pk)
    if pk is None:
        return None
    model = tasks.model
    sql = f"SELECT {returned_columns(model)} FROM {quoted(model._meta.db_table)} WHERE {owned_row(model)}"
    return first(tasks.raw(sql, [pk, user_id]))


def write_owned(tasks, user_id, pk, values, versions):
    """UPDATE the owner's task `pk` with `values`, bumping its version, and return it as written.

    `values` maps field names to values, or to FLIPPED. With `versions` (If-Match) only a row at
    one of them is written. None when no row matched: no such task of theirs, or another version.
    """
    pk = storable_id(pk)
    if pk is None or versions is not None and not versions:
        return None
    model = tasks.model
    database = router.db_for_write(model)
    assignments, params = [], []
    for name, value in values.items():
        field = model._meta.get_field(name)
        column = quoted(field.column)
        if value is FLIPPED:
            assignments.append(f"{column} = NOT {column}")
        else:
            assignments.append(f"{column} = %s")
            params.append(field.get_db_prep_save(value, connections[database]))
    version = quoted(model._meta.get_field("version").column)
    assignments.append(f"{version} = {version} + 1")
    condition, params = owned_row(model), [*params, pk, user_id]
    if versions is not None:
        condition += f" AND {version} IN ({', '.join(['%s'] * len(versions))})"
        params.extend(sorted(versions))
    sql = (
        f"UPDATE {quoted(model._meta.db_table)} SET {', '.join(assignments)} WHERE {condition}"
        f" RETURNING {returned_columns(model)}"
    )
    return first(tasks.raw(sql, params, using=database))


def storable_id(pk):
    """`pk` as an integer a bigint holds; None for any other (no task has such an id)."""
    pk = int(pk)
    return pk if 1 <= pk <= MAX_ID else None


@functools.cache
def returned_columns(model):
    return ", ".join(quoted(field.column) for field in model._meta.concrete_fields if field.name != "tag_keys")


def owned_row(model):
    return f"{quoted(model._meta.pk.column)} = %s AND {quoted(model._meta.get_field('user_id').column)} = %s"


def quoted(name):
    """A table's or column's name as both PostgreSQL and SQLite quote it."""
    return f'"{name}"'


def first(rows):
    rows = list(rows)
    return rows[0] if rows else None
