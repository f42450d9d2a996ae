"""scripts/setup.sh where the executables a campaign needs are missing and cannot be installed
(no apt-get, as for a cluster user): the Python part is still set up, each missing executable
is named with its Debian package and the module hint, and the exit status says so (3)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_setup_names_what_is_missing_without_failing_the_python_part(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "sha256sum", "cut", "sort", "id", "dirname", "mkdir", "env"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    os.symlink(sys.executable, bin_dir / "python3")
    venv = Path(sys.executable).parents[1]  # the test's own, already set up: no pip call
    result = subprocess.run(["bash", str(REPO / "scripts" / "setup.sh")], capture_output=True, text=True,
                            env={"PATH": str(bin_dir), "IONNP_VENV": str(venv), "HOME": str(tmp_path)},
                            timeout=60)
    assert result.returncode == 3, result.stdout + result.stderr
    for exe, package in (("pw.x", "quantum-espresso"), ("ph.x", "quantum-espresso"),
                         ("ld1.x", "quantum-espresso"), ("dot", "graphviz")):
        assert f"setup: {exe} not found: install the Debian package {package}" in result.stderr
    assert "module load" in result.stderr
    assert f"Python environment ready ({venv})" in result.stderr
