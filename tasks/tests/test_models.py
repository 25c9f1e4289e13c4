"""The task model's one-statement writes, and what they rely on."""

import pytest
from django.db.models.deletion import Collector
from django.db.models.signals import post_delete, post_save, pre_save
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.models import Task
from tasks.task_rows import returned_columns

pytestmark = pytest.mark.django_db


def can_fast_delete_tasks():
    """Django's own verdict: would its collector delete tasks with one DELETE and nothing else?"""
    return Collector(using="default").can_fast_delete(Task.objects.all())


def test_deleting_tasks_needs_nothing_from_djangos_collector():
    """`delete_in_one_statement` skips the collector: right only while no relation or delete signal exists."""
    assert can_fast_delete_tasks()


def test_a_delete_signal_on_tasks_would_be_noticed():
    def receiver(**kwargs):
        pass

    post_delete.connect(receiver, sender=Task)
    try:
        assert not can_fast_delete_tasks()
    finally:
        post_delete.disconnect(receiver, sender=Task)


def test_delete_in_one_statement_deletes_only_the_rows_selected(make_task):
    kept, deleted = make_task(title="kept"), make_task(title="deleted")
    assert Task.objects.filter(pk=deleted.pk).delete_in_one_statement() == 1
    assert list(Task.objects.values_list("pk", flat=True)) == [kept.pk]


def test_at_versions_writes_only_a_row_still_at_one_of_them(make_task):
    task = make_task()
    assert Task.objects.filter(pk=task.pk).at_versions({task.version + 1}).set_completed(True) == 0
    assert Task.objects.filter(pk=task.pk).at_versions({task.version}).set_completed(True) == 1
    assert Task.objects.filter(pk=task.pk).at_versions(None).set_completed(False) == 1
    task.refresh_from_db()
    assert (task.completed, task.version) == (False, 3)


def test_a_toggle_writes_only_a_task_of_its_owner_still_at_one_of_the_versions(make_task):
    task = make_task(user_id="alice")
    assert Task.objects.toggle_owned("alice", task.pk, {task.version + 1}) is None
    assert Task.objects.toggle_owned("alice", task.pk, set()) is None
    assert Task.objects.toggle_owned("bob", task.pk) is None
    toggled = Task.objects.toggle_owned("alice", task.pk, {task.version})
    assert (toggled.completed, toggled.version) == (True, 2)
    assert (Task.objects.toggle_owned("alice", task.pk).completed, Task.objects.get(pk=task.pk).version) == (False, 3)


def test_a_write_answers_with_the_row_it_left(make_task):
    task = make_task(user_id="alice", tags=["a"])
    written = task.write({"title": "Buy oat milk", "tags": ["Home", "b"], "priority": 3})
    stored = Task.objects.get(pk=task.pk)
    fields = [field.attname for field in Task._meta.concrete_fields if field.name != "tag_keys"]
    assert [getattr(written, name) for name in fields] == [getattr(stored, name) for name in fields]
    assert (stored.version, stored.tag_keys) == (2, {"home": True, "b": True})
    assert written._state.adding is False and written._state.db == "default"


def test_every_write_stamps_updated_at_with_the_applications_clock(make_task):
    task = make_task()
    toggled = Task.objects.toggle_owned(task.user_id, task.pk)
    assert task.updated_at <= toggled.updated_at == Task.objects.get(pk=task.pk).updated_at
    written = task.write({"title": "Buy oat milk"})
    assert Task.objects.get(pk=task.pk).updated_at == written.updated_at >= toggled.updated_at


def test_no_save_signal_is_connected_to_tasks():
    """import_tasks inserts with SQL (tasks/task_import.py), skipping `Task.save()` and its signals: right only while nobody listens to them."""
    assert not any(signal.has_listeners(Task) for signal in (pre_save, post_save))


def test_owned_task_is_the_orms_task_without_tag_keys(make_task):
    task = make_task(title="Read", tags=["Home", "work"], user_id="alice")
    read = Task.objects.owned_task("alice", task.pk)
    expected = Task.objects.defer("tag_keys").get(pk=task.pk)
    fields = [field.attname for field in Task._meta.concrete_fields if field.name != "tag_keys"]
    assert [getattr(read, name) for name in fields] == [getattr(expected, name) for name in fields]
    assert read.get_deferred_fields() == {"tag_keys"}
    assert read._state.adding is False and read._state.db == "default"


def test_a_task_is_read_and_written_with_every_column_but_tag_keys():
    """The statements follow the model: a column added later is read and returned with the rest."""
    columns = returned_columns(Task)
    for field in Task._meta.concrete_fields:
        assert (f'"{field.column}"' in columns) is (field.name != "tag_keys")


@pytest.mark.parametrize("pk", [0, 2**63, 10**19 - 1])
def test_no_task_is_read_or_written_for_an_id_no_bigint_holds(pk):
    assert Task.objects.owned_task("alice", pk) is None
    assert Task.objects.toggle_owned("alice", pk) is None
    assert Task.objects.write_owned("alice", pk, {"title": "x"}) is None


def test_owned_task_is_none_for_another_owners_task_or_a_missing_one(make_task):
    task = make_task(user_id="alice")
    assert Task.objects.owned_task("bob", task.pk) is None
    assert Task.objects.owned_task("alice", task.pk + 1) is None


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pk=st.integers(min_value=-(2**64), max_value=2**64),
    user_id=st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=255),
)
def test_owned_task_answers_any_id_and_owner_without_a_database_error(make_task, pk, user_id):
    """Any id, and any owner a verified token's `sub` can name (no control characters, at most 255)."""
    task = make_task(user_id="alice")
    found = Task.objects.owned_task(user_id, pk)
    assert (found is not None) is (user_id == "alice" and pk == task.pk)
