"""deploy/balancer.py: the configuration it prints is one nginx accepts, for the instances given.

test_instances.py runs the balancer itself in front of three instances.
"""

import re
import subprocess
import sys

import pytest

from deploy.balancer import render_balancer_config
from deploy.web import nginx_binary

from .live import PROJECT_DIR, require_nginx


def test_the_cli_prints_a_configuration_nginx_accepts_with_every_instance(tmp_path):
    require_nginx()
    tmp_path.chmod(0o711)
    printed = subprocess.run(
        [sys.executable, "-m", "deploy.balancer", "--listen", "127.0.0.1:8080", "--runtime-dir", str(tmp_path)]
        + ["--max-body-bytes", "8192", "10.0.0.1:8000", "10.0.0.2:8000"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.findall(r"^ *server (\S+) max_fails=1 fail_timeout=5s;$", printed, re.M) == [
        "10.0.0.1:8000",
        "10.0.0.2:8000",
    ]
    assert "client_max_body_size 8192;" in printed and "location = /_nginx/503" in printed
    config = tmp_path / "balancer.conf"
    config.write_text(printed)
    checked = subprocess.run(
        [nginx_binary({}), "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(config)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


def test_a_balancer_without_instances_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one instance"):
        render_balancer_config([], listen="127.0.0.1:8080", runtime_dir=tmp_path)
