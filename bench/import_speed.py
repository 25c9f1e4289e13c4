"""Time `import_tasks` on a million exported rows: wall, the command's CPU and peak RSS, the backend's CPU.

    python -m bench.import_speed --database-url postgres://postgres@127.0.0.1:5432/taskapi_import_bench

Seeds a source database by SQL (1,000,000 tasks of 20,000 users, words in titles and
descriptions for the trigram indexes), exports it once to FILE, then imports FILE into a fresh
migrated target database (`<name>_target`) `--runs` times in each mode (an ordinary import, and
`--restore`, which builds the indexes after the rows), and once more on top of the last ordinary
import (which must insert nothing). PostgreSQL must run on this machine: the backend's CPU is
read from /proc. Each statement's start is sampled from pg_stat_activity every 0.2 s.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from .paths import PROJECT_DIR
from .seed import recreate_database, server_url

WORDS = (
    "buy milk call mom fix bug review report plan trip book flight pay rent clean kitchen write draft meeting notes "
    "renew passport order parts email team update docs garden walk dog car service tax return gift party doctor "
    "dentist gym"
).split()
SEED = """
WITH w AS (SELECT %(words)s::text[] AS a)
INSERT INTO tasks_task (user_id, title, description, completed, priority, due_at, tags, tag_keys, created_at, updated_at)
SELECT 'user-' || lpad((g %% 20000)::text, 6, '0'),
  initcap(a[1 + g %% 40]) || ' ' || a[1 + (g / 40) %% 40] || ' ' || a[1 + (g / 1600) %% 40] || ' #' || g,
  CASE WHEN g %% 3 = 0 THEN '' ELSE 'Remember to ' || a[1 + (g * 7) %% 40] || ' the ' || a[1 + (g * 13) %% 40]
    || ' before the ' || a[1 + (g * 17) %% 40] || ', then ' || a[1 + (g * 19) %% 40] || ' and '
    || a[1 + (g * 23) %% 40] || ' (ref ' || md5(g::text) || ')' END,
  g %% 3 = 0, 1 + g %% 3,
  CASE WHEN g %% 2 = 0 THEN '2026-06-01'::timestamptz + g * interval '1 minute' END,
  CASE WHEN g %% 4 = 0 THEN '["work", "Home"]'::jsonb WHEN g %% 4 = 1 THEN '["errand"]'::jsonb ELSE '[]'::jsonb END,
  CASE WHEN g %% 4 = 0 THEN '{"work": true, "home": true}'::jsonb
       WHEN g %% 4 = 1 THEN '{"errand": true}'::jsonb ELSE '{}'::jsonb END,
  '2026-01-01'::timestamptz - g * interval '1 second' + (g %% 1000) * interval '1 microsecond',
  '2026-01-01'::timestamptz - g * interval '1 second' + interval '1 hour'
FROM w, generate_series(0, %(rows)s - 1) AS g
"""
STATEMENTS = """
SELECT pid, left(query, 40), state FROM pg_stat_activity
WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


def manage(database_url, *args, **kwargs):
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, check=True, **kwargs)


def seed_and_export(database_url, rows, path):
    recreate_database(database_url)
    manage(database_url, "migrate", "--noinput", "-v", "0")
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(SEED, {"words": list(WORDS), "rows": rows})
    with open(path, "wb") as out:
        manage(database_url, "export_tasks", stdout=out, stderr=subprocess.DEVNULL)


def process_cpu(pid):
    """User plus system CPU seconds of a process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_import(database_url, path, *options):
    """Run import_tasks; print its output, /usr/bin/time's figures, the backend's CPU and each statement's start."""
    name = database_url.rsplit("/", 1)[1]
    load, start = os.getloadavg(), time.monotonic()
    command = ["/usr/bin/time", "-f", "%e s wall, %U s user, %S s sys, %M KB peak RSS"]
    env = dict(os.environ, DATABASE_URL=database_url)
    process = subprocess.Popen(
        [*command, sys.executable, "manage.py", "import_tasks", str(path), *options],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    backend_cpu, statements = 0.0, []
    watcher = psycopg2.connect(server_url(database_url))
    watcher.autocommit = True
    with watcher.cursor() as cursor:
        while process.poll() is None:
            cursor.execute(STATEMENTS, [name])
            for pid, query, state in cursor.fetchall():
                backend_cpu = process_cpu(pid) or backend_cpu
                if not statements or statements[-1][1:] != (state, query):
                    statements.append((time.monotonic() - start, state, query))
            time.sleep(0.2)
    watcher.close()
    out, err = process.communicate()
    print(f"import_tasks {' '.join(options)}: load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {out.strip()}")
    print(f"  command: {err.strip().splitlines()[-1]}; backend CPU {backend_cpu:.1f} s")
    for at, state, query in statements:
        print(f"  {at:6.1f} s  {state:20s} {query}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="the source database; <name>_target is the target")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file", type=Path, default=Path("/tmp/taskapi-import-bench.jsonl"))
    args = parser.parse_args()
    target = args.database_url + "_target"
    if not args.file.exists():
        seed_and_export(args.database_url, args.rows, args.file)
    for _ in range(args.runs):
        for options in [("--restore",), ()]:
            recreate_database(target)
            manage(target, "migrate", "--noinput", "-v", "0")
            timed_import(target, args.file, *options)
    print("again, on top of the last import:")
    timed_import(target, args.file)


if __name__ == "__main__":
    main()
