"""ionnp.plan: work units from the config, unit costs from benchmark files, the estimate."""

from __future__ import annotations

import math

import pytest
from conftest import REPO

from ionnp.config import load_config, validate_config
from ionnp.plan import measured_cpu_seconds, plan, reference, work_units


def test_sampling_units_count_atoms_and_steps_of_every_run():
    """The default grid: 1 temperature x 3 pressures per phase, cells of 16 (2x2x1 wurtzite),
    8 (zinc blende and rocksalt conventional) and 4 (h-MgO) atoms, 10 000 steps."""
    jobs, units = work_units(load_config(REPO / "config" / "config.yaml"))["sampling"]
    assert jobs == 12 and units == 3 * (16 + 8 + 8 + 4) * 10_000


def test_dft_units_follow_the_plane_wave_scaling():
    """N³ n_k E_cut^1.5: doubling the cut-off multiplies the relabelling by 2^1.5; a 2x2x2
    wurtzite cell (32 atoms) instead of 2x2x1 (16) multiplies its share by 8 in N³ and halves
    its k-points along c (2 -> 1 at 0.8 1/Å)."""
    base = validate_config({})
    units = work_units(base)["DFT relabelling"][1]
    doubled = work_units(validate_config({"dft": {"ecutwfc": 2 * base["dft"]["ecutwfc"]}}))["DFT relabelling"][1]
    assert doubled == pytest.approx(units * 2**1.5)
    single = validate_config({"sampling": {"phases": ["wurtzite"]}, "eos": {"phases": ["wurtzite", "rocksalt"]},
                              "dft": {"kspacing": 0.8}})
    bigger = validate_config({"sampling": {"phases": ["wurtzite"], "supercell": {"wurtzite": [2, 2, 2]}},
                              "eos": {"phases": ["wurtzite", "rocksalt"]}, "dft": {"kspacing": 0.8}})
    ratio = work_units(bigger)["DFT relabelling"][1] / work_units(single)["DFT relabelling"][1]
    assert ratio == pytest.approx(8 * 8 / 8 / 2)  # (32/16)³ x k-points 2x2x1 / 2x2x2


def test_training_units_grow_with_members_and_epochs():
    base = validate_config({})
    a = work_units(base)["A-Train"][1]
    members = work_units(validate_config({"model": {"ensemble_size": 4}}))["A-Train"][1]
    assert members == pytest.approx(a * 4 / base["model"]["ensemble_size"])
    fifty = work_units(validate_config({"train": {"pretrain": {"epochs": 50}}}))["A-Train"][1]
    two_hundred = work_units(validate_config({"train": {"pretrain": {"epochs": 200}}}))["A-Train"][1]
    assert two_hundred == pytest.approx(4 * fifty)
    wide = work_units(validate_config({"model": {"hidden_layers": [256, 256]}}))["A-Train"][1]
    assert wide == pytest.approx(a)  # the descriptors dominate: the width does not enter


def test_measured_core_seconds_are_read_from_benchmark_files(tmp_path):
    """Snakemake's benchmark columns: wall time s x the cores the stage's jobs hold."""
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    folder = tmp_path / "logs" / "benchmarks" / "sampling" / "rocksalt"
    folder.mkdir(parents=True)
    (folder / "T1200_P0_w0.tsv").write_text(header + "12.5\t0:00:12\t1\t1\t1\t1\t0\t0\t95\t11.0\n")
    (folder / "T1200_P15_w0.tsv").write_text(header + "7.0\t0:00:07\t1\t1\t1\t1\t0\t0\t0\t0\n")
    dft = tmp_path / "logs" / "benchmarks" / "dft"
    dft.mkdir()
    (dft / "shard_0.tsv").write_text(header + "100.0\t0:01:40\t1\t1\t1\t1\t0\t0\t95\t3.0\n")
    config = validate_config({"dft": {"tasks": 4}})
    assert measured_cpu_seconds(tmp_path, config) == {"sampling": 19.5, "DFT relabelling": 400.0}


def test_the_paper_campaign_gets_a_finite_estimate_far_above_the_default():
    """Every stage of the shipped reference is estimated; paper scale costs more at every
    stage than the default campaign (larger cells, grids, cut-off, networks, ensemble)."""
    costs = reference()["core_seconds_per_unit"]
    default = plan(load_config(REPO / "config" / "config.yaml"), costs).set_index("stage")
    paper = plan(load_config(REPO / "config" / "config.yaml", REPO / "config" / "paper.yaml"), costs).set_index("stage")
    assert all(math.isfinite(h) and h > 0 for h in paper.cpu_hours)
    assert (paper.cpu_hours > default.cpu_hours).all()
