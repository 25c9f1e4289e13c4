"""`python -m bench.run`: seed a database, serve taskapi and its floor, load both, write the note.

Everything listens on 127.0.0.1 only, every load is bounded in time, and every process started
here is stopped before the command returns.
"""
import argparse
import datetime
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .paths import BENCH_DIR, DOCS_DIR, PROJECT_DIR

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/taskapi_bench_run"
# Longer than any run, so no token expires mid-load; Better Auth's own last 15 minutes.
TOKEN_LIFETIME = 12 * 3600


def emit(text=""):
    """The command's one output: progress lines and the final table, on stdout."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    add = parser.add_argument
    add("--database-url", default=DEFAULT_DATABASE_URL, help="dropped and recreated (default: %(default)s)")
    add("--users", type=int, default=1000, help="regular users (default: %(default)s)")
    add("--tasks-per-user", type=int, default=50, help="tasks each regular user has (default: %(default)s)")
    add("--big-user-tasks", type=int, default=100_000, help="tasks of the one big user (default: %(default)s)")
    add("--total-rows", type=int, default=1_000_000, help="table size, topped up with others' tasks")
    add("--deep-position", type=int, default=90_000, help="where the deep page starts (default: %(default)s)")
    add("--delete-pool", type=int, default=100_000, help="tasks seeded for each delete run")
    add("--seconds", type=int, default=15, help="measured seconds per scenario and app (default: %(default)s)")
    add("--warmup-seconds", type=int, default=2, help="unmeasured seconds before each (default: %(default)s)")
    add("--soak-seconds", type=int, default=600, help="mixed-load run watching worker RSS; 0 skips it")
    add("--threads", type=int, default=2, help="wrk threads (default: %(default)s)")
    add("--connections", type=int, default=16, help="wrk connections (default: %(default)s)")
    add("--workers", type=int, default=2, help="gunicorn workers per app (default: %(default)s)")
    add("--worker-threads", type=int, default=1, help="threads per worker; 1 = the Procfile's sync worker")
    add("--scenarios", default="all", help="comma list of scenarios (default: all)")
    add("--noauth-scenarios", default="list,retrieve", help="also run these with authentication off")
    add("--docs-dir", type=Path, default=DOCS_DIR, help="where performance.md and .png go")
    return parser.parse_args(argv)


def ensure_tools():
    """wrk from Debian (installed when missing and root) and bench/requirements.txt (pinned)."""
    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            sys.exit("wrk is missing: apt-get install -y wrk")
        emit("installing wrk (apt-get install -y wrk)")
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(install, check=True, stdout=subprocess.DEVNULL)
    if importlib.util.find_spec("matplotlib") is None:
        emit("installing bench/requirements.txt")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "-r", str(BENCH_DIR / "requirements.txt")], check=True
        )


def main(argv=None):
    args = parse_args(argv)
    ensure_tools()
    # Imported here: they need matplotlib and the project's packages, checked just above.
    from .servers import TokenIssuer
    from .session import BenchSession

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="taskapi-bench-") as workdir, TokenIssuer(TOKEN_LIFETIME) as issuer:
        session = BenchSession(args, Path(workdir), issuer, emit)
        session.prepare_database()
        session.measure_all()
        session.write_results(args.docs_dir, elapsed=time.monotonic() - started)
    emit(f"done in {datetime.timedelta(seconds=round(time.monotonic() - started))}; "
         f"wrote {os.path.relpath(args.docs_dir / 'performance.md', PROJECT_DIR)}")


if __name__ == "__main__":
    main()
