"""schemathesis against our own OpenAPI document, served by gunicorn: zero failures.

Every check (`schemathesis.toml`: status codes, content types, response headers and bodies,
negative data rejected, positive data accepted, ...) in every phase, stateful included, with
a fixed seed and bounded examples, so CI runs the same cases every time. The run is a function
of the server's URL and a user: test_instances.py runs it through the balancer as well.
"""

import logging
import os
import re
import subprocess
import sys

from .live import PROJECT_DIR

logger = logging.getLogger(__name__)


def schemathesis_run(url, make_token, user_id, directory):
    """schemathesis.toml's run against the document `url` serves, as `user_id` (the token's subject
    and the `user_id` path parameter), with its report in `directory`: it must find no issue."""
    report = directory / "junit.xml"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(PROJECT_DIR / "schemathesis.toml"),
        "run",
        f"{url}/api/schema/",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        "--no-color",
    ]
    result = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "TASKAPI_FUZZ_TOKEN": make_token(user_id), "TASKAPI_FUZZ_USER": user_id},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "No issues found" in result.stdout or "passed" in result.stdout, output
    assert report.read_text().count("<testcase") >= 18
    # The figure the README quotes (pytest ... -o log_cli=true shows it).
    logger.info("schemathesis at %s: %s", url, " ".join(re.findall(r"\d+ generated[^\n]*", result.stdout)))


def test_the_api_passes_every_schemathesis_check_in_every_phase(live_api, make_token, tmp_path):
    schemathesis_run(live_api.url, make_token, "fuzz-user", tmp_path)
