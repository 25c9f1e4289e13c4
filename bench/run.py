"""`python -m bench.run`: seed a database, serve taskapi and its floor, load both, write the note.

Everything listens on 127.0.0.1 only, every load is bounded in time, and every process started
here is stopped before the command returns.
"""

import datetime
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .options import parse_args
from .paths import BENCH_DIR, PROJECT_DIR

# Longer than any run, so no token expires mid-load; Better Auth's own last 15 minutes.
TOKEN_LIFETIME = 12 * 3600


def emit(text=""):
    """The command's one output: progress lines and the final table, on stdout."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


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
    options = parse_args(argv, description=__doc__)
    ensure_tools()
    # Imported here: they need matplotlib and the project's packages, checked just above.
    from .issuer import TokenIssuer
    from .session import BenchSession

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="taskapi-bench-") as workdir, TokenIssuer(TOKEN_LIFETIME) as issuer:
        session = BenchSession(options, Path(workdir), issuer, emit)
        session.prepare_database()
        session.measure_all()
        session.write_results(elapsed=time.monotonic() - started)
    emit(
        f"done in {datetime.timedelta(seconds=round(time.monotonic() - started))}; "
        f"wrote {os.path.relpath(options.docs_dir / 'performance.md', PROJECT_DIR)}"
    )


if __name__ == "__main__":
    main()
