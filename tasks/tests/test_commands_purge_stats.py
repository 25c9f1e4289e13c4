"""purge_user_tasks (account deletion) and task_stats (aggregates computed by the database)."""

from datetime import datetime, timezone

import pytest

from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks_of_two_users(make_task):
    make_task("user-a", title="one")
    make_task("user-a", title="two")
    make_task("user-b", title="other's")


def titles_left():
    return sorted(Task.objects.values_list("title", flat=True))


@pytest.mark.parametrize("command", ["purge_user_tasks", "task_stats"])
def test_commands_have_help(run_command, capsys, command):
    with pytest.raises(SystemExit) as exit:
        run_command(command, "--help")
    assert exit.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_purge_with_yes_deletes_only_that_users_tasks(run_command, tasks_of_two_users):
    code, out, _ = run_command("purge_user_tasks", "user-a", "--yes")
    assert code == 0
    assert out == "deleted 2 task(s) of user 'user-a'\n"
    assert titles_left() == ["other's"]


def test_purge_dry_run_counts_and_deletes_nothing(run_command, tasks_of_two_users):
    code, out, _ = run_command("purge_user_tasks", "user-a", "--dry-run")
    assert code == 0
    assert out == "2 task(s) of user 'user-a' would be deleted (dry run)\n"
    assert len(titles_left()) == 3


def test_purge_asks_and_deletes_when_confirmed_at_the_terminal(run_command, tasks_of_two_users, terminal):
    code, out, _ = run_command("purge_user_tasks", "user-a", stdin=terminal("yes\n"))
    assert code == 0
    assert out == (
        "Delete 2 task(s) of user 'user-a'? This cannot be undone. Type 'yes': deleted 2 task(s) of user 'user-a'\n"
    )
    assert titles_left() == ["other's"]


@pytest.mark.parametrize("answer", ["no\n", "y\n", "\n", ""])
def test_purge_keeps_everything_unless_the_answer_is_yes(run_command, tasks_of_two_users, terminal, answer):
    code, _, err = run_command("purge_user_tasks", "user-a", stdin=terminal(answer))
    assert code == 1
    assert "not confirmed; nothing deleted" in err
    assert len(titles_left()) == 3


def test_purge_refuses_unattended_without_yes(run_command, tasks_of_two_users, io_input):
    code, out, err = run_command("purge_user_tasks", "user-a", stdin=io_input("yes\n"))
    assert code == 1
    assert out == ""
    assert "stdin is not a terminal, so nobody can confirm; pass --yes" in err
    assert len(titles_left()) == 3


def test_purge_of_a_user_without_tasks_asks_nothing(run_command, tasks_of_two_users, io_input):
    code, out, _ = run_command("purge_user_tasks", "nobody", stdin=io_input(""))
    assert code == 0
    assert out == "0 task(s) of user 'nobody'\n"
    assert len(titles_left()) == 3


def test_purge_refuses_a_blank_user_id(run_command, tasks_of_two_users):
    code, _, err = run_command("purge_user_tasks", "  ", "--yes")
    assert code == 1
    assert "USER_ID must not be blank" in err
    assert len(titles_left()) == 3


def test_stats_on_an_empty_table(run_command):
    code, out, _ = run_command("task_stats")
    assert code == 0
    assert out.splitlines() == [
        "tasks: 0",
        "completed: 0",
        "pending: 0",
        "users: 0",
        "busiest users (top 10 by tasks):",
        "oldest open task: none",
    ]


def test_stats_count_tasks_users_and_find_the_oldest_open_task(run_command, make_task, django_assert_num_queries):
    for user, count in [("user-a", 3), ("user-b", 1), ("user-c", 2)]:
        for _ in range(count):
            make_task(user, completed=user == "user-c")
    oldest = make_task("user-b")
    Task.objects.filter(pk=oldest.pk).update(created_at=datetime(2020, 5, 17, 8, 0, tzinfo=timezone.utc))
    make_task("user-d", completed=True)
    with django_assert_num_queries(3):
        code, out, _ = run_command("task_stats")
    assert code == 0
    assert out.splitlines() == [
        "tasks: 8",
        "completed: 3",
        "pending: 5",
        "users: 4",
        "busiest users (top 10 by tasks):",
        "  user-a: 3 task(s), 3 pending",
        "  user-b: 2 task(s), 2 pending",
        "  user-c: 2 task(s), 0 pending",
        "  user-d: 1 task(s), 0 pending",
        f"oldest open task: id {oldest.pk} of user user-b, created 2020-05-17T08:00:00Z",
    ]


def test_stats_list_only_the_ten_busiest_users(run_command):
    Task.objects.bulk_create(Task(user_id=f"user-{n:02}", title="t") for n in range(12) for _ in range(n + 1))
    _, out, _ = run_command("task_stats")
    listed = [line.split(":")[0].strip() for line in out.splitlines() if line.startswith("  ")]
    assert listed == [f"user-{n:02}" for n in range(11, 1, -1)]
    assert "users: 12" in out
