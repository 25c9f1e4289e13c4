"""Indexes for the admin, filtering, ordering and search, built without blocking writes.

On PostgreSQL each index is made with CREATE INDEX CONCURRENTLY (so the migration cannot run
in a transaction); elsewhere (the SQLite fallback) B-tree indexes are made normally and the
PostgreSQL-only GIN indexes are skipped.
"""
import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.indexes import PostgresIndex
from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """AddIndexConcurrently on PostgreSQL; a plain AddIndex (or nothing, for GIN) elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        elif not isinstance(self.index, PostgresIndex):
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        elif not isinstance(self.index, PostgresIndex):
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('tasks', '0002_task_planning_fields'),
    ]

    operations = [
        TrigramExtension(),
        AddIndexConcurrentlyOnPostgres(
            model_name='task',
            index=models.Index(fields=['-created_at', '-id'], name='task_created_idx'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='task',
            index=models.Index(fields=['user_id', 'updated_at', 'id'], name='task_user_updated_idx'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='task',
            index=models.Index(fields=['user_id', 'due_at', 'id'], name='task_user_due_idx'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='task',
            index=django.contrib.postgres.indexes.GinIndex(fields=['tag_keys'], name='task_tag_keys_gin'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='task',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper('title'), name='gin_trgm_ops'), name='task_title_trgm'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='task',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper('description'), name='gin_trgm_ops'), name='task_description_trgm'),
        ),
    ]
