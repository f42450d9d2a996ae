"""A real single-node SLURM cluster (scripts/slurm-cluster.sh) and snakemake runs through it.

The cluster is started once per session and stopped at the end, unless it was already running
when the session began (then it is left as found) or IONNP_SLURM_KEEP=1 is set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
CLUSTER = REPO / "scripts" / "slurm-cluster.sh"
USER_PROFILE = REPO / "profiles" / "slurm"
TEST_PROFILE = Path(__file__).parent / "profile" / "config.yaml"

# Hard limits: a hung daemon or snakemake must not block CI forever.
START_TIMEOUT = 600  # s; a first start installs the Debian packages (~30 s, more on a slow mirror)
RUN_TIMEOUT = 240  # s per snakemake call


def cluster(command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["timeout", "-k", "10", str(timeout), "bash", str(CLUSTER), command],
                          capture_output=True, text=True, timeout=timeout + 20)


@dataclass
class Cluster:
    env: dict[str, str]
    cpus: int

    def sacct(self, job_ids: list[str]) -> list[dict[str, str]]:
        """Accounting records of the given jobs (allocations only, no steps), in job order.

        slurmdbd first records a job cancelled while pending under the name "allocation" and
        gets its real name seconds later: wait for that (at most 30 s).
        """
        if not job_ids:
            return []
        fields = ["JobID", "JobName", "Comment", "State", "ExitCode"]
        deadline = time.monotonic() + 30
        while True:
            result = subprocess.run(
                ["sacct", "-X", "-n", "-P", "-S", "now-1days", "-j", ",".join(job_ids),
                 "-o", ",".join(f"{f}%200" for f in fields)],
                capture_output=True, text=True, env=self.env, timeout=60, check=True)
            records = [dict(zip(fields, line.split("|"))) for line in result.stdout.splitlines()]
            if all(r["JobName"] != "allocation" for r in records) or time.monotonic() > deadline:
                return sorted(records, key=lambda r: int(r["JobID"]))
            time.sleep(1)

    def squeue(self) -> list[dict[str, str]]:
        fields = ["JobID", "JobName", "Comment", "State"]
        result = subprocess.run(["squeue", "-h", "-o", "%i|%j|%k|%T"], capture_output=True,
                                text=True, env=self.env, timeout=60, check=True)
        return [dict(zip(fields, line.split("|", 3))) for line in result.stdout.splitlines()]


@pytest.fixture(scope="session")
def slurm_cluster() -> Cluster:
    if os.geteuid() != 0 and not shutil.which("slurmctld"):
        pytest.skip("SLURM tests need root (to install and start a single-node SLURM with "
                    "scripts/slurm-cluster.sh) or SLURM already installed")
    was_running = cluster("status").returncode == 0
    started = cluster("start", timeout=START_TIMEOUT)
    assert started.returncode == 0, f"scripts/slurm-cluster.sh start failed:\n{started.stderr}"
    conf = re.search(r"export SLURM_CONF=(\S+)", started.stdout)[1]
    env = {**os.environ, "SLURM_CONF": conf}
    nodes = subprocess.run(["sinfo", "-h", "-N", "-o", "%c"], capture_output=True, text=True,
                           env=env, check=True).stdout.split()
    yield Cluster(env=env, cpus=int(nodes[0]))
    if not was_running and os.environ.get("IONNP_SLURM_KEEP") != "1":
        stopped = cluster("stop")
        assert stopped.returncode == 0, stopped.stderr


def _merged_profile(cpus: int) -> dict:
    """The keys of the test profile, with default- and set-resources merged into the user's."""
    user = yaml.safe_load((USER_PROFILE / "config.yaml").read_text())
    test = yaml.safe_load(TEST_PROFILE.read_text())
    merged = {**test, "cores": cpus}
    merged["default-resources"] = {**user.get("default-resources", {}),
                                   **test.get("default-resources", {})}
    rules = set(user.get("set-resources", {})) | set(test.get("set-resources", {}))
    merged["set-resources"] = {
        rule: {**user.get("set-resources", {}).get(rule, {}),
               **test.get("set-resources", {}).get(rule, {})} for rule in sorted(rules)}
    return merged


@pytest.fixture(scope="session")
def test_profile(slurm_cluster, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("slurm-profile")
    (folder / "config.yaml").write_text(yaml.safe_dump(_merged_profile(slurm_cluster.cpus)))
    return folder


@dataclass
class Run:
    """One snakemake call: its exit code, log and the SLURM jobs it submitted."""
    returncode: int
    log: str
    job_ids: list[str]
    run_id: str | None

    @classmethod
    def parse(cls, returncode: int, log: str) -> Run:
        ids = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
        run_id = re.search(r"SLURM run ID: (\S+)", log)
        return cls(returncode, log, ids, run_id[1] if run_id else None)


def small_config(base: dict) -> dict:
    """config/config.yaml shrunk to a few cheap jobs: 4 prototypes, 2 short sampling runs."""
    config = {**base}
    config["prototypes"] = {**base["prototypes"], "phases": ["wurtzite", "rocksalt"],
                            "pressures": [0, 20]}
    config["sampling"] = {**base["sampling"], "phases": ["wurtzite"], "temperatures": [1200],
                          "pressures": [20], "walkers": 2, "steps": 400, "write_every": 100}
    if "distill" in config:  # later stages must fit the small pool (not run by these tests)
        frames = 2 * 400 // 100
        distill = {**config["distill"]}
        distill["n_pretrain"] = min(distill.get("n_pretrain", frames), frames)
        distill["n_dft"] = min(distill.get("n_dft", 2), 2, distill["n_pretrain"])
        config["distill"] = distill
    return config


def snakemake_command(workdir: Path, profile: Path, *args: str,
                      timeout: float = RUN_TIMEOUT) -> list[str]:
    """`snakemake --profile profiles/slurm` on the repository's Snakefile, test cluster on top."""
    return ["timeout", "-k", "20", str(timeout), str(SNAKEMAKE), "-s", str(REPO / "Snakefile"),
            "-d", str(workdir), "--configfile", str(workdir / "config.yaml"),
            "--profile", str(USER_PROFILE), "--workflow-profile", str(profile), *args]


@pytest.fixture(scope="module")
def make_workdir(tmp_path_factory):
    def make(name: str) -> Path:
        workdir = tmp_path_factory.mktemp(name)
        base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        (workdir / "config.yaml").write_text(yaml.safe_dump(small_config(base)))
        return workdir
    return make
