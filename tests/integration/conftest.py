"""Run the real workflow (snakemake in a subprocess) in a scratch directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def snakemake(workdir: Path, *args: str, config: dict | None = None,
              timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir``.

    ``config`` (merged over config/config.yaml) is written to ``workdir/config.yaml``.
    """
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for section, values in (config or {}).items():
        if isinstance(values, dict) and isinstance(base.get(section), dict):
            base[section] = {**base[section], **values}
        else:
            base[section] = values
    configfile = workdir / "config.yaml"
    configfile.write_text(yaml.safe_dump(base))
    command = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "-d", str(workdir),
               "--configfile", str(configfile), "--cores", "2", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
