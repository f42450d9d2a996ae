"""The workflow itself: dry run, config errors, single targets, the DAG, lint, a real run."""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest

from .conftest import REPO, SNAKEMAKE, snakemake

pytestmark = pytest.mark.workflow


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a snakemake run, as {rule: count}."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_dry_run_lists_every_job(workdir):
    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout) == {"prototype": 35, "enthalpy": 1, "all": 1}
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"prototypes": {"phases": ["wurtzite", "diamond"]}}, "config key prototypes.phases[1]"),
        ({"prototypes": {"pressures": ["high"]}}, "config key prototypes.pressures[0]"),
        ({"prototypes": {"pressure": [1]}}, "unknown config key prototypes.pressure"),
        ({"potential": {"cutoff": -1.0}}, "config key potential.cutoff"),
    ],
)
def test_bad_config_stops_before_any_job(workdir, config, message):
    result = snakemake(workdir, config=config)
    assert result.returncode != 0
    assert message in result.stderr
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


def test_one_target_builds_only_what_it_needs(workdir):
    target = "results/structures/rocksalt_P0.extxyz"
    result = snakemake(workdir, target)
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stderr) == {"prototype": 1}
    assert [p.name for p in (workdir / "results" / "structures").iterdir()] == ["rocksalt_P0.extxyz"]


def test_dag_renders(workdir):
    dag = snakemake(workdir, "--dag")
    assert dag.returncode == 0, dag.stderr
    png = subprocess.run(["dot", "-Tpng"], input=dag.stdout.encode(), capture_output=True)
    assert png.returncode == 0 and png.stdout.startswith(b"\x89PNG")


def test_lint_is_clean(workdir):
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0
    assert "Lints for" not in result.stdout + result.stderr


@pytest.mark.slow
def test_default_campaign_runs_and_is_then_complete(workdir):
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(workdir / "results/structures/enthalpy.csv")
    assert len(table) == 35
    stable = table.loc[table.groupby("pressure_gpa")["enthalpy_per_fu"].idxmin()]
    assert set(stable[stable.pressure_gpa <= 15].phase) == {"wurtzite"}
    assert set(stable[stable.pressure_gpa >= 20].phase) == {"rocksalt"}
    assert (workdir / "results/structures/enthalpy.png").read_bytes().startswith(b"\x89PNG")
    again = snakemake(workdir, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
