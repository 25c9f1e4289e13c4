"""Migration operations that keep locks short on a large PostgreSQL table and can be re-run.

Elsewhere (the SQLite fallback) each behaves as the Django operation it extends. On PostgreSQL:
- `AddFieldCheckNotValid` adds a column and its CHECK (a Positive*Field's `>= 0`) NOT VALID,
  so the ALTER's ACCESS EXCLUSIVE lock lasts no longer than a catalog update; Django would put
  the CHECK on the column, and PostgreSQL would then scan every row under that lock.
- `ValidateConstraintOnPostgres` checks the existing rows later, in its own transaction, under
  SHARE UPDATE EXCLUSIVE (reads and writes go on). Validating a valid constraint does nothing.
- `AddIndexConcurrentlyOnPostgres` builds the index with CREATE INDEX CONCURRENTLY and repairs an
  earlier, interrupted run of itself: such a run leaves the index INVALID (unused by queries, yet
  its name is taken, so a plain retry fails) or, in a non-atomic migration, already complete.
- `AlterFieldSkippingPostgresIndexes` is AlterField on PostgreSQL. SQLite alters a column by
  rebuilding the table with the model's indexes, and the GIN ones it cannot build were never
  made there (see the previous operation), so the rebuild leaves them out.
"""

from django.contrib.postgres.indexes import PostgresIndex
from django.contrib.postgres.operations import AddIndexConcurrently, ValidateConstraint
from django.db import migrations

INDEX_VALIDITY = """
SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace
"""


def on_postgres(schema_editor):
    return schema_editor.connection.vendor == "postgresql"


def check_constraint_name(model, field):
    """The name PostgreSQL gives a CHECK written on the column, so either way the schema is the same."""
    return f"{model._meta.db_table}_{field.column}_check"


class AddFieldCheckNotValid(migrations.AddField):
    """AddField whose column CHECK is added NOT VALID on PostgreSQL; pair it with ValidateConstraintOnPostgres."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not on_postgres(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        table, quote = schema_editor.quote_name(model._meta.db_table), schema_editor.quote_name
        # column_sql() leaves the CHECK out; add_field() would append it to the column.
        definition, params = schema_editor.column_sql(model, field, include_default=True)
        schema_editor.execute(f"ALTER TABLE {table} ADD COLUMN {quote(field.column)} {definition}", params or None)
        check = field.db_check(schema_editor.connection)
        if check:
            name = quote(check_constraint_name(model, field))
            schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check}) NOT VALID")


class ValidateConstraintOnPostgres(ValidateConstraint):
    """VALIDATE CONSTRAINT on PostgreSQL (run it outside the transaction that added it); nothing elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if on_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """AddIndexConcurrently on PostgreSQL, resumable; a plain AddIndex (or nothing, for GIN) elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not on_postgres(schema_editor):
            if not isinstance(self.index, PostgresIndex):
                migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
            return
        # sqlmigrate (and the migration linter) show the statement as it runs on a fresh database.
        valid = None if schema_editor.collect_sql else index_validity(schema_editor, self.index.name)
        if valid:
            return
        if valid is False:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}")
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if on_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        elif not isinstance(self.index, PostgresIndex):
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


def index_validity(schema_editor, name):
    """True for a usable index of that name, False for one left INVALID, None when there is none."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(INDEX_VALIDITY, [name])
        row = cursor.fetchone()
    return None if row is None else row[0]


class AlterFieldSkippingPostgresIndexes(migrations.AlterField):
    """AlterField; where the table is rebuilt (SQLite), without the PostgreSQL-only indexes it never had."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not on_postgres(schema_editor):
            from_state, to_state = (
                without_postgres_indexes(state, app_label, self.model_name_lower) for state in (from_state, to_state)
            )
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not on_postgres(schema_editor):
            from_state, to_state = (
                without_postgres_indexes(state, app_label, self.model_name_lower) for state in (from_state, to_state)
            )
        super().database_backwards(app_label, schema_editor, from_state, to_state)


def without_postgres_indexes(state, app_label, model_name):
    """A copy of the project state whose model lists no PostgreSQL-only index."""
    state = state.clone()
    model = state.models[app_label, model_name]
    model.options["indexes"] = [index for index in model.options["indexes"] if not isinstance(index, PostgresIndex)]
    state.reload_model(app_label, model_name, delay=True)
    return state
