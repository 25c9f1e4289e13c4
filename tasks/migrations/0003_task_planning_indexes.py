"""Indexes for the admin, filtering, ordering and search, built without blocking writes.

On PostgreSQL each index is made with CREATE INDEX CONCURRENTLY (so the migration cannot run
in a transaction); elsewhere (the SQLite fallback) B-tree indexes are made normally and the
PostgreSQL-only GIN indexes are skipped. Every step can be re-run after an interruption: an
index already built is kept, one left INVALID is dropped and built again.

It first validates the CHECK constraints 0002 added NOT VALID: a scan under SHARE UPDATE
EXCLUSIVE, which lets reads and writes go on (on databases migrated before 0002 did so, the
constraints are already valid, and this migration was applied long ago anyway).
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from tasks.migration_operations import AddIndexConcurrentlyOnPostgres, ValidateConstraintOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tasks", "0002_task_planning_fields"),
    ]

    operations = [
        ValidateConstraintOnPostgres(model_name="task", name="tasks_task_priority_check"),
        ValidateConstraintOnPostgres(model_name="task", name="tasks_task_version_check"),
        TrigramExtension(),
        AddIndexConcurrentlyOnPostgres(
            model_name="task",
            index=models.Index(fields=["-created_at", "-id"], name="task_created_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="task",
            index=models.Index(fields=["user_id", "updated_at", "id"], name="task_user_updated_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="task",
            index=models.Index(fields=["user_id", "due_at", "id"], name="task_user_due_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="task",
            index=django.contrib.postgres.indexes.GinIndex(fields=["tag_keys"], name="task_tag_keys_gin"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="task",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("title"), name="gin_trgm_ops"
                ),
                name="task_title_trgm",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="task",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("description"), name="gin_trgm_ops"
                ),
                name="task_description_trgm",
            ),
        ),
    ]
