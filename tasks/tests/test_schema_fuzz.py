"""schemathesis against our own OpenAPI document, served by gunicorn: zero failures.

Every check (`schemathesis.toml`: status codes, content types, response headers and bodies,
negative data rejected, positive data accepted, ...) in every phase, stateful included, with
a fixed seed and bounded examples, so CI runs the same cases every time.
"""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from .live import PROJECT_DIR

logger = logging.getLogger(__name__)


def run_schemathesis(url, token, report):
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
    return subprocess.run(
        command,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "TASKAPI_FUZZ_TOKEN": token},
    )


def test_the_api_passes_every_schemathesis_check_in_every_phase(live_api, make_token, tmp_path):
    report = tmp_path / "junit.xml"
    result = run_schemathesis(live_api.url, make_token("fuzz-user"), report)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "No issues found" in result.stdout or "passed" in result.stdout, output
    assert Path(report).read_text().count("<testcase") >= 18
    # The figure the README quotes (pytest ... -o log_cli=true shows it).
    logger.info("schemathesis: %s", " ".join(re.findall(r"\d+ generated[^\n]*", result.stdout)))
