"""Database defaults for tags and tag_keys, so that code which does not know these columns can insert.

0002 added both with AddField, which sets a DEFAULT only while filling the existing rows and then
drops it: during a rolling deploy the previous release's INSERTs, which name neither column, then
failed with a NOT NULL violation. ALTER COLUMN ... SET DEFAULT only changes the catalog (no row
is read or rewritten), so its ACCESS EXCLUSIVE lock lasts a moment even on a large table.
(SQLite, the local fallback, rebuilds the table instead; see tasks/migration_operations.py.)
"""

from django.db import migrations, models

from tasks.migration_operations import AlterFieldSkippingPostgresIndexes


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0004_idempotency_key"),
    ]

    operations = [
        AlterFieldSkippingPostgresIndexes(
            model_name="task",
            name="tag_keys",
            field=models.JSONField(blank=True, db_default={}, default=dict, editable=False),
        ),
        AlterFieldSkippingPostgresIndexes(
            model_name="task",
            name="tags",
            field=models.JSONField(blank=True, db_default=[], default=list),
        ),
    ]
