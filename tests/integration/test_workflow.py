"""The workflow itself: dry run, config errors, single targets, the DAG, lint, a real run."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

from .conftest import snakemake

pytestmark = pytest.mark.workflow


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a snakemake run, as {rule: count}."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def planned_jobs(config: dict) -> dict[str, int]:
    """Jobs per rule a campaign of ``config`` (validated) needs, counted from the config."""
    from ionnp.config import loading_phases, n_dft_shards

    sampling, training, rounds = config["sampling"], config["train"], config["refine"]["rounds"]
    charges = len(set(training["q_grid"])) + 1  # the grid and q_eff
    singles = ["enthalpy", "pool", "describe", "distill", "dft_dataset", "coulomb", "lt_dft", "lt", "dfpt",
               "charge_scan", "q_eff", "charge_scan_plot", "pretrain_coulomb", "dft_stress_check",
               "validation", "evaluate", "lt_models", "md", "eos", "effective_config", "deploy", "loading", "all"]
    ramp = config["prototypes"]["roles"]["high_pressure"] is not None  # else no transition ramp
    return {**dict.fromkeys(singles, 1), **({"transition_report": 1, "transition": 2} if ramp else {}),
            "prototype": len(config["prototypes"]["phases"]) * len(config["prototypes"]["pressures"]),
            "sample": (len(sampling["phases"]) * len(sampling["temperatures"]) * len(sampling["pressures"])
                       * sampling["walkers"]),
            "pseudopotential": len(config["potential"]["charges"]), "relabel": n_dft_shards(config),
            "pretrain": charges, "finetune": charges + int(training["scratch_baseline"]),
            "eos_dft": len(config["eos"]["phases"]),
            "loading_cells": len(loading_phases(config)), "loading_dft": len(loading_phases(config)),
            **({"refine_trust": 1, "refine_report": 1} if rounds else {}),
            **{rule: rounds for rule in ("refine_explore", "refine_select", "refine_dft", "refine_train") if rounds}}


def test_dry_run_lists_every_job(workdir):
    from ionnp.config import load_config

    from .conftest import REPO

    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout) == planned_jobs(load_config(REPO / "config/config.yaml"))
    assert not (workdir / "results").exists()


@pytest.mark.parametrize("campaign_file", ["validation.yaml", "paper.yaml", "materials/zno.yaml",
                                           "materials/mgo.yaml", "materials/caf2.yaml"])
def test_dry_run_of_each_shipped_campaign(tmp_path, campaign_file):
    """The validation and paper campaigns and every material plan the jobs their configs call
    for (MgO: no transition ramp)."""
    from ionnp.config import load_config

    from .conftest import REPO, SNAKEMAKE

    result = subprocess.run([str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "-n",
                             "--configfile", str(REPO / "config" / campaign_file)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    config = load_config(REPO / "config/config.yaml", REPO / "config" / campaign_file)
    assert job_counts(result.stdout) == planned_jobs(config)


def test_the_config_stack_holds_from_any_directory(tmp_path):
    """default config/config.yaml → campaign file → the user's file → --config, whatever
    directory snakemake runs in (the default is found beside the Snakefile, not in the working
    directory): results/config.yaml is that stack, merged and validated independently here."""
    import yaml

    from ionnp.config import load_config, load_schema

    from .conftest import REPO, SNAKEMAKE

    user = tmp_path / "mine.yaml"
    user.write_text("seed: 7\ntrain: {finetune: {epochs: 3}}\n")
    elsewhere, campaign = tmp_path / "elsewhere", tmp_path / "campaign"
    elsewhere.mkdir()
    result = subprocess.run(
        [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "-d", str(campaign), "--cores", "1",
         "results/config.yaml", "--configfile", str(REPO / "config/validation.yaml"), str(user),
         "--config", "seed=8"],
        cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    effective = yaml.safe_load((campaign / "results/config.yaml").read_text())
    assert effective == load_config(REPO / "config/config.yaml", REPO / "config/validation.yaml", user) | {"seed": 8}
    assert effective["train"]["finetune"]["epochs"] == 3  # the user's file over the campaign's 500
    # A key only the default sets (the schema's default differs) reaches the campaign, and a
    # changed stack rewrites results/config.yaml.
    default = yaml.safe_load((REPO / "config/config.yaml").read_text())
    schema_steps = load_schema()["properties"]["sampling"]["properties"]["steps"]["default"]
    bare = subprocess.run(
        [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "-d", str(campaign), "--cores", "1",
         "results/config.yaml", "--configfile", str(user)],
        cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert bare.returncode == 0, bare.stderr[-3000:]
    steps = yaml.safe_load((campaign / "results/config.yaml").read_text())["sampling"]["steps"]
    assert steps == default["sampling"]["steps"] != schema_steps


@pytest.mark.parametrize(
    "config, message",
    [
        ({"prototypes": {"phases": ["wurtzite", "diamond"]}},
         "config key prototypes.phases: ['diamond'] not in prototypes.structures"),
        ({"potential": {"charges": {"Zn": 2.0, "O": -2.0, "S": -2.0}}},  # a ternary needs structure files
         "Zn-O-S: the formula unit of three or more species is not fixed"),
        ({"prototypes": {"structures": {"wurtzite": {"file": "missing.cif"}}}},
         "config key prototypes.structures.wurtzite: structure file"),
        ({"prototypes": {"pressures": ["high"]}}, "config key prototypes.pressures[0]"),
        ({"prototypes": {"pressure": [1]}}, "unknown config key prototypes.pressure"),
        ({"potential": {"cutoff": -1.0}}, "config key potential.cutoff"),
        ({"sampling": {"temperatures": [-300]}}, "config key sampling.temperatures[0]"),
        ({"sampling": {"pressures": [0, 12]}}, "config key sampling.pressures: [12] not in prototypes"),
        ({"sampling": {"phases": ["cscl"]}, "prototypes": {"phases": ["wurtzite"]}},
         "config key sampling.phases: ['cscl'] not in prototypes"),
        ({"distill": {"n_pretrain": 5000}}, "config key distill.n_pretrain: 5000 frames asked for"),
        ({"distill": {"n_pretrain": 10, "n_dft": 20}}, "config key distill.n_dft: 20 exceeds"),
        ({"eos": {"volume_scales": [0.9, 1.0, 1.1]}}, "config key eos.volume_scales"),
        ({"eos": {"phases": ["wurtzite", "cscl"]}, "prototypes": {"phases": ["wurtzite", "zincblende", "rocksalt", "hmgo"]}},
         "config key eos.phases: ['cscl'] not in prototypes"),
    ],
)
def test_bad_config_stops_before_any_job(workdir, config, message):
    result = snakemake(workdir, config=config)
    assert result.returncode != 0
    assert message in result.stderr
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()


def test_one_target_builds_only_what_it_needs(workdir):
    target = "results/prototypes/rocksalt_P0.extxyz"
    result = snakemake(workdir, target)
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stderr) == {"prototype": 1}
    assert [p.name for p in (workdir / "results" / "prototypes").iterdir()] == ["rocksalt_P0.extxyz"]


def test_dag_renders(workdir):
    dag = snakemake(workdir, "--dag")
    assert dag.returncode == 0, dag.stderr
    png = subprocess.run(["dot", "-Tpng"], input=dag.stdout.encode(), capture_output=True)
    assert png.returncode == 0 and png.stdout.startswith(b"\x89PNG")


def test_lint_is_clean(workdir):
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0
    assert "Lints for" not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """The default campaign, run once from nothing for the tests below."""
    workdir = tmp_path_factory.mktemp("campaign")
    result = snakemake(workdir, timeout=3600)  # ~21 min on 2 idle cores; room for a slower machine
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


@pytest.mark.slow
def test_prototypes_and_enthalpy(campaign):
    table = pd.read_csv(campaign / "results/prototypes/enthalpy.csv")
    assert len(table) == 35
    stable = table.loc[table.groupby("pressure_gpa")["enthalpy_per_fu"].idxmin()]
    assert set(stable[stable.pressure_gpa <= 15].phase) == {"wurtzite"}
    assert set(stable[stable.pressure_gpa >= 20].phase) == {"rocksalt"}
    assert (campaign / "results/prototypes/enthalpy.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_pool_holds_every_phase_and_a_transition(campaign):
    """A run from 4-fold wurtzite or zinc blende reaches rocksalt's coordination."""
    import ase.io

    from ionnp.frames import read_frames
    from ionnp.sampling.coordination import coordination_number

    index = pd.read_csv(campaign / "results/sampling/pool_index.csv")
    assert set(index.phase) == {"wurtzite", "zincblende", "rocksalt", "hmgo"}
    assert len(read_frames(campaign / "results/sampling/pool.db")) == len(index) == 1200
    crossed = []
    for (phase, pressure), run in index.groupby(["phase", "run_pressure_gpa"]):
        if phase not in ("wurtzite", "zincblende") or pressure < 15:
            continue
        start = coordination_number(ase.io.read(campaign / f"results/prototypes/{phase}_P{pressure:g}.extxyz"), ["Zn"], ["O"], 2.6)
        rocksalt = coordination_number(ase.io.read(campaign / f"results/prototypes/rocksalt_P{pressure:g}.extxyz"), ["Zn"], ["O"], 2.6)
        late = run.sort_values("step").cv.iloc[-len(run) // 4:]
        if abs(run.cv.iloc[0] - start) < 0.3 and late.mean() > (start + rocksalt) / 2 and run.cv.max() >= rocksalt:
            crossed.append((phase, pressure))
    assert crossed, "no high-pressure run went from 4-fold to rocksalt coordination"


@pytest.mark.slow
def test_pool_labels_add_up(campaign):
    from ionnp.frames import iter_frames

    for atoms in iter_frames(campaign / "results/sampling/pool.db"):
        assert abs(atoms.arrays["buck_energies"].sum() - atoms.info["buck_energy"]) < 1e-8
        total = atoms.get_potential_energy()
        assert abs(total - atoms.info["buck_energy"] - atoms.info["coul_energy"]) < 1e-8


@pytest.mark.slow
def test_distillation_covers_every_phase(campaign):
    selection = pd.read_csv(campaign / "results/distill/selection.csv")
    index = pd.read_csv(campaign / "results/sampling/pool_index.csv")
    pretrain = selection[selection.set == "pretrain"]
    assert len(pretrain) == 300 and pretrain.pool_index.is_unique
    assert set(pretrain.phase) == set(index.phase)
    dft = selection[selection.set == "dft"]
    assert len(dft) == 12 and set(dft.pool_index) <= set(pretrain.pool_index)
    shards = sorted((campaign / "results/distill").glob("dft_shard_*.db"))
    assert len(shards) == 2


@pytest.mark.slow
def test_active_distillation_reruns_only_the_distillation(campaign, tmp_path):
    """distill.method active on a copy of the finished campaign: only rule distill reruns; the
    DFT set grows from its stratified seed round by round, with both learning curves."""
    import shutil

    copy = tmp_path / "campaign"
    shutil.copytree(campaign, copy, symlinks=True)
    active = {"distill": {"method": "active", "active": {"n_seed": 6, "rounds": 2, "epochs": 30}}}
    planned = snakemake(copy, "-n", "results/distill/active_curve.png", config=active)
    assert job_counts(planned.stdout) == {"distill": 1}
    result = snakemake(copy, "results/distill/active_curve.png", config=active)
    assert result.returncode == 0, result.stderr[-3000:]
    curve = pd.read_csv(copy / "results/distill/active_curve.csv")
    assert curve[curve.method == "active"].n_selected.tolist() == [6, 9, 12]
    assert curve[curve.method == "stratified"].n_selected.tolist() == [6, 9, 12]
    first = curve[(curve.method == "active") & (curve.n_selected == 6)].iloc[0]
    seed = curve[(curve.method == "stratified") & (curve.n_selected == 6)].iloc[0]
    assert first.energy_rmse_mev_atom == pytest.approx(seed.energy_rmse_mev_atom)  # same seed set
    dft = pd.read_csv(copy / "results/distill/selection.csv").query("set == 'dft'")
    assert dft["round"].tolist() == [0] * 6 + [1] * 3 + [2] * 3 and dft.pool_index.is_unique
    assert (copy / "results/distill/active_curve.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_dft_dataset(campaign):
    from ionnp.frames import read_frames

    frames = read_frames(campaign / "results/dft/dataset.db")
    failed = pd.read_csv(campaign / "results/dft/failed.csv")
    # 12 sampled structures and the equation-of-state cells: 2 phases × 6 volumes.
    assert len(frames) + len(failed) == 12 + 12 and len(failed) <= 1
    for atoms in frames:
        assert abs(atoms.get_forces().sum(axis=0)).max() < 1e-2
        assert atoms.get_potential_energy() / len(atoms) < -1000  # eV, all-electron-like scale of US PPs
        assert "emp_energy" in atoms.info and atoms.info["dft_code"].startswith("PWSCF")
    split = pd.read_csv(campaign / "results/dft/split.csv")
    assert set(split.split) <= {"train", "valid", "test"} and (split.split == "train").sum() >= len(split) // 2
    eos = split[split.source == "eos"]
    assert set(eos.phase) == {"wurtzite", "rocksalt"}
    assert (eos.groupby("phase").split.value_counts().unstack() == 3).all().all()  # alternate volumes
    sampled = split[split.source == "sampling"].merge(
        pd.read_csv(campaign / "results/sampling/pool_index.csv"), left_on="pool_index", right_on="frame")
    assert (sampled.pressure_gpa <= 40).all()  # distill.max_pressure_gpa
    assert set(sampled.phase_x) == {"wurtzite", "zincblende", "rocksalt", "hmgo"}


@pytest.mark.slow
def test_effective_charge_outputs(campaign):
    """q_eff comes from the frozen modulations, with a finite uncertainty, every estimator
    recorded beside it; the scan is kept as a diagnostic."""

    table = pd.read_csv(campaign / "results/charges/scan.csv")
    assert len(table) == 41 and table.q.iloc[-1] == pytest.approx(2.0)
    chosen = json.loads((campaign / "results/charges/q_eff.json").read_text())
    lt = json.loads((campaign / "results/charges/lt.json").read_text())
    assert chosen["method"] == "lt" and chosen["q_eff"] == lt["q"]
    assert 0.0 < chosen["q_error"] < 0.5 and np.isfinite(chosen["q_error"])
    assert {"lt", "dfpt", "learnability", "spread"} <= set(chosen["estimators"])
    learnability = chosen["estimators"]["learnability"]
    assert learnability["cv"] == "grouped" and learnability["n_units"] >= 2
    assert learnability["low"] <= learnability["q"] <= learnability["high"]
    assert learnability["determined"] == (learnability["high"] - learnability["low"] <= 0.5)
    dfpt = json.loads((campaign / "results/charges/dfpt.json").read_text())
    assert 0.3 < dfpt["q"] < 2.0 and dfpt["epsilon_inf"] > 1.0 and dfpt["born_charge"] > 1.0
    ratios = pd.read_csv(campaign / "results/charges/lt.csv")
    assert len(ratios) == 4 and (ratios.de_coulomb > 0).all() and (ratios.de_reference > 0).all()
    assert abs(lt["harmonicity"]["energy_scaling"] - 1.0) < 0.05
    for plot in ("scan.png", "lt.png"):
        assert (campaign / "results/charges" / plot).read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_models_and_evaluation(campaign):

    from ionnp.nnp.potential import NNPotential

    q_eff = json.loads((campaign / "results/charges/q_eff.json").read_text())["q_eff"]
    assert NNPotential.load(campaign / "models/finetune_qeff.pt").charge == pytest.approx(q_eff)
    assert NNPotential.load(campaign / "models/finetune_q1.pt").charge == 1.0
    # One A-Train per charge (the grid's and q_eff), each at its own q.
    for q in ("0", "1", "2"):
        assert NNPotential.load(campaign / f"models/pretrain_q{q}.pt").charge == float(q)
    assert NNPotential.load(campaign / "models/pretrain_qeff.pt").charge == pytest.approx(q_eff)
    history = pd.read_csv(campaign / "results/train/pretrain_q1_history.csv")
    first, last = history[history.epoch == history.epoch.min()], history[history.epoch == history.epoch.max()]
    assert last.valid_forces_rmse_mev_a.mean() < 0.5 * first.valid_forces_rmse_mev_a.mean()
    metrics = pd.read_csv(campaign / "results/evaluate/metrics.csv")
    overall = metrics[metrics.group == "all"].set_index("variant")
    assert {"empirical potential", "finetune_qeff", "finetune_q0", "scratch_qeff"} <= set(overall.index)
    assert (overall.force_rmse_mev_per_a > 0).all()


@pytest.mark.slow
def test_final_model_is_stable(campaign):
    """What the default campaign's final model (q_eff, ~20 DFT training structures) must at
    least be: wurtzite its lowest phase at 0 GPa (the NNP's equation-of-state minima) and an
    NVE run at 300 K that stays near its temperature (0.1 ps block averages within ±50 % after
    the first 0.2 ps) without leaving its training data. The run is deterministic (same config
    and seed), so these are exact properties of this campaign, not statistics."""

    fits = pd.read_csv(campaign / "results/eos/eos.csv").set_index(["method", "phase"])
    assert fits.loc[("NNP", "wurtzite"), "e0_ev"] < fits.loc[("NNP", "rocksalt"), "e0_ev"]
    summary = json.loads((campaign / "results/md/md_summary.json").read_text())
    assert summary["n_atoms"] == 16 and summary["nve_left_the_data"] is None
    nve = pd.read_csv(campaign / "results/md/nve.csv")
    assert nve.step.iloc[-1] == 1000  # md.nve_steps: the whole run
    blocks = nve[nve.time_ps >= 0.2].groupby((nve.time_ps // 0.1).astype(int)).temperature_k.mean()
    assert blocks.between(150.0, 450.0).all(), blocks.to_dict()
    assert np.isfinite(summary["nve_drift_mev_per_atom_per_ps"])
    # The workflow's own verdict agrees, and lists every acceptance criterion.
    validation = json.loads((campaign / "results/evaluate/validation.json").read_text())
    named = {c["name"]: c for c in validation["criteria"]}
    assert len(named) == 41 and named["wurtzite the NNP's ground state"]["passed"]
    assert named["ensemble spread below the threshold throughout"]["passed"]
    assert named["fine-tuned force error lowest near q_L/T"]["diagnostic"]
    assert validation["passed"] + validation["failed"] == 39  # the two diagnostics not counted
    assert "energy_mae_mev_per_atom below finetune_qeff" in named  # the final model is the refined one
    assert "criteria hold" in (campaign / "results/evaluate/validation.md").read_text()


@pytest.mark.slow
def test_every_saved_model_repels_at_one_angstrom(campaign):
    """Rocksalt with one Zn pushed to 1.0 Å from its O neighbour (no training contact is below
    ~1.7 Å): every model drives it back with at least the ZBL force of the pair (the core
    repulsion), whatever its network learnt."""
    from ase.build import bulk

    from ionnp.nnp.core_repulsion import zbl_energy
    from ionnp.nnp.potential import NNPotential

    import torch

    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)  # Zn at 0, O at (a/2, 0, 0)
    atoms.positions[0] = atoms.positions[1] - [1.0, 0.0, 0.0]
    distance = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(zbl_energy(distance, torch.tensor(30.0), torch.tensor(8.0)), distance)
    models = sorted((campaign / "models").glob("*.pt"))
    assert len(models) == 10  # 4 A-Trains (q = 0, 1, 2, q_eff), 4 fine-tunes, 1 from scratch, 1 round
    for path in models:
        force_away = -NNPotential.load(path).predict(atoms).forces[0, 0]
        assert force_away > 0.8 * float(-slope), (path.name, force_away)


@pytest.mark.slow
def test_rules_rerun_only_for_the_keys_they_read(campaign):
    """On the finished campaign: a new sampling temperature schedules only the new runs (every
    phase) and what depends on the pool; a new plot marker schedules only the scan's plot; the
    MD jobs' cores and wall time nothing; a new fine-tuning start only the fine-tunes and what
    reads them. Any change rewrites results/config.yaml."""
    more = snakemake(campaign, "-n", config={"sampling": {"temperatures": [1200, 900]}})
    counts = job_counts(more.stdout)
    assert counts["sample"] == 12 and counts["pool"] == 1  # 4 phases x 3 pressures at 900 K
    scheduled = re.findall(r"output: results/sampling/\w+/(T\d+)_P", more.stdout + more.stderr)
    assert set(scheduled) == {"T900"}
    assert not {"prototype", "enthalpy", "eos_dft", "pseudopotential"} & set(counts)
    marker = snakemake(campaign, "-n", config={"charges": {"epsilon_inf": 5.0}})
    assert job_counts(marker.stdout) == {"charge_scan_plot": 1, "effective_config": 1, "all": 1}
    # how a job is scheduled (cores, wall time) reruns nothing but the record of the config
    scheduling = snakemake(campaign, "-n", config={"transition": {"threads": 2, "runtime": "3h"},
                                                   "md": {"threads": 2, "runtime": "1h"}})
    assert job_counts(scheduling.stdout) == {"effective_config": 1, "all": 1}
    # the rounds of active distillation are not the stratified method's keys
    rounds = snakemake(campaign, "-n", config={"distill": {"active": {"rounds": 7}}})
    assert job_counts(rounds.stdout) == {"effective_config": 1, "all": 1}
    # another choice of q retrains, but computes no DFT and no scan
    fixed = job_counts(snakemake(campaign, "-n", config={"charges": {"method": 0.8}}).stdout)
    assert fixed["q_eff"] == 1 and not {"lt_dft", "lt", "dfpt", "charge_scan", "relabel"} & set(fixed)
    # another fine-tuning start refits every fine-tune but not the scan (it reads only the
    # loss weights), so neither q_eff nor any A-Train
    start = snakemake(campaign, "-n", config={"train": {"finetune": {"shrink": 0.5, "perturb": 0.1}}})
    started = job_counts(start.stdout)
    assert started["finetune"] >= 1 and not {"charge_scan", "q_eff", "pretrain"} & set(started)
    # another strain of the loading test: its cells, their DFT, its scores and what the spread's
    # calibration on them decides (the round's trust levels and all after), nothing upstream
    loading = job_counts(snakemake(campaign, "-n", config={"loading": {"strains": [0.04, 0.1, 0.15]}}).stdout)
    assert loading["loading_cells"] == 2 and loading["loading_dft"] == 2 and loading["refine_trust"] == 1
    assert not {"sample", "relabel", "finetune", "pretrain", "eos_dft", "lt_dft"} & set(loading)


@pytest.mark.slow
def test_one_refinement_round_explores_labels_and_retrains(campaign):
    """Round 1: the one-shot model explores every sampled phase, the deformation and the hot run;
    its spread sorts the snapshots by the trust levels; FPS picks at most the budget among the
    candidates; pw.x labels them; round 1's model is fine-tuned from the one-shot one on them too."""
    from ionnp.frames import read_frames
    from ionnp.nnp.potential import NNPotential

    folder = campaign / "results/refine/round1"
    summary = json.loads((folder / "selection.json").read_text())
    trust = json.loads((campaign / "results/refine/trust.json").read_text())
    spread = pd.read_csv(folder / "spread.csv")
    assert summary["explored"] == len(spread) == 8 * 10  # 8 runs of 300 steps, a snapshot every 30
    assert {p.split()[0] for p in spread.protocol} == {"npt", "deform", "hot"}
    assert summary["known"] + summary["candidates"] + summary["unphysical"] == summary["explored"]
    assert ((spread.spread_mev_per_atom < trust["low"]) == (spread["class"] == "known")).all()
    chosen = spread[spread.selected]
    assert len(chosen) == len(summary["selected"]) <= 4 and (chosen["class"] == "candidate").all()
    labelled = read_frames(folder / "dft.db")
    assert len(labelled) == len(chosen) and all(a.info["structure_id"].startswith("refine_r1_") for a in labelled)
    one_shot, refined = NNPotential.load(campaign / "models/finetune_qeff.pt"), campaign / "models/refine_r1.pt"
    assert NNPotential.load(refined).charge == one_shot.charge
    rounds = pd.read_csv(campaign / "results/refine/rounds.csv")
    assert rounds["round"].tolist() == [0, 1] and rounds.dft_structures_added.tolist() == [0, len(labelled)]
    assert rounds.loc[1, "explore_cpu_hours"] > 0 and rounds.loc[1, "train_cpu_hours"] > 0
    assert (campaign / "results/refine/rounds.png").read_bytes().startswith(b"\x89PNG")
    ramp = json.loads((campaign / "results/refine/ramp_spread.json").read_text())
    trace = pd.read_csv(campaign / "results/transition/nnp_trace.csv")
    assert ramp["max_spread_mev_per_atom"] == pytest.approx(trace.spread_mev_per_atom.max())
    assert ramp["stayed_below"] == (trace.spread_mev_per_atom <= trust["low"]).all()
    # another round: only its own jobs and what reads the final model, nothing of round 1
    more = job_counts(snakemake(campaign, "-n", config={"refine": {"rounds": 2}}).stdout)
    assert more["refine_explore"] == more["refine_train"] == more["refine_dft"] == 1
    assert not {"refine_trust", "finetune", "relabel", "sample"} & set(more)


@pytest.mark.slow
def test_unseen_loading_cells_are_labelled_scored_and_never_trained_on(campaign):
    """Tension along c and xz shear of wurtzite and rocksalt: DFT-labelled, in no split of the
    dataset; every model and the empirical potential scored per path and strain; the final
    model's spread set against its error on the test split and on these cells."""
    from ionnp.frames import read_frames

    cells = [a for phase in ("wurtzite", "rocksalt") for a in read_frames(campaign / f"results/loading/{phase}_dft.db")]
    assert len(cells) == 8 and all(a.info["dft_ecutwfc_ry"] == 35.0 for a in cells)
    dataset = read_frames(campaign / "results/dft/dataset.db")
    trained = {a.info.get("structure_id") for a in dataset}
    assert not {a.info["structure_id"] for a in cells} & trained
    metrics = pd.read_csv(campaign / "results/loading/metrics.csv")
    assert set(metrics.variant) == {"empirical potential", "finetune_qeff", "finetune_q0", "finetune_q1",
                                    "finetune_q2", "scratch_qeff", "refine_r1"}
    assert set(metrics[metrics.group == "path"].value) == {"wurtzite tensile_z", "wurtzite shear_xz",
                                                           "rocksalt tensile_z", "rocksalt shear_xz"}
    assert (metrics[metrics.group == "strain"].n_structures == 1).all()
    curves = pd.read_csv(campaign / "results/loading/stress_strain.csv")
    dft = curves[(curves.variant == "DFT") & (curves.path == "tensile_z")].sort_values("strain")
    for phase, rows in dft.groupby("phase"):
        assert rows.stress_gpa.is_monotonic_increasing and rows.stress_gpa.iloc[-1] > 0, phase
    correlations = pd.read_csv(campaign / "results/loading/calibration_summary.csv")
    n_test = sum(a.info["split"] == "test" for a in dataset)
    assert correlations[["model", "set", "n_structures"]].values.tolist() == [
        ["finetune_qeff", "test", n_test], ["finetune_qeff", "loading", 8],
        ["refine_r1", "test", n_test], ["refine_r1", "loading", 8]]
    for name in ("stress_strain.png", "calibration.png"):
        assert (campaign / "results/loading" / name).read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_equations_of_state_and_transition_pressures(campaign):
    """DFT against PBE literature (wurtzite 24.8, rocksalt 19.9 Å³/ZnO, ΔE ≈ 0.28 eV, wurtzite →
    rocksalt at 9–11 GPa); the empirical crossing against the LAMMPS-relaxed enthalpies."""
    fits = pd.read_csv(campaign / "results/eos/eos.csv").set_index(["method", "phase"])
    assert len(fits) == 6 and (fits.n_points == 6).all()
    dft_wz, dft_rs = fits.loc[("DFT", "wurtzite")], fits.loc[("DFT", "rocksalt")]
    assert dft_wz.v0_a3 == pytest.approx(24.8, rel=0.06) and dft_rs.v0_a3 == pytest.approx(19.9, rel=0.06)
    assert 0.15 < dft_rs.e0_ev - dft_wz.e0_ev < 0.40
    # The empirical potential's stress is its energy's strain derivative (LAMMPS): P = −dE/dV.
    assert (fits.loc["empirical"].stress_offset_gpa.abs() < 0.1).all()
    transitions = pd.read_csv(campaign / "results/eos/transitions.csv").set_index("method")
    assert 5 < transitions.loc["DFT", "pressure_gpa"] < 15
    enthalpy = pd.read_csv(campaign / "results/prototypes/enthalpy.csv")
    h = enthalpy.pivot(index="pressure_gpa", columns="phase", values="enthalpy_per_fu")
    relaxed = np.interp(0.0, (h.rocksalt - h.wurtzite).to_numpy()[::-1], h.index.to_numpy()[::-1])
    # Fixed-shape wurtzite is higher in enthalpy than relaxed: a lower bound within a few GPa.
    assert relaxed - 4 < transitions.loc["empirical", "pressure_gpa"] < relaxed + 0.5
    points = pd.read_csv(campaign / "results/eos/eos_points.csv")
    assert np.isfinite(points.energy_ev).all() and set(points.method) == {"DFT", "NNP", "empirical"}
    assert (campaign / "results/eos/eos.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_report_holds_every_figure_and_table(campaign):
    import zipfile

    result = snakemake(campaign, "--report", "results/report.zip")
    assert result.returncode == 0, result.stderr[-3000:]
    names = {name.rsplit("/", 1)[-1] for name in zipfile.ZipFile(campaign / "results/report.zip").namelist()}
    assert {"report.html", "enthalpy.png", "scan.png", "parity.png", "error_vs_q.png", "md.png",
            "eos.png", "eos.csv", "transitions.csv", "metrics.csv", "lt.png", "lt_models.png",
            "transition.png"} <= names


@pytest.mark.slow
def test_transition_ramp_outputs(campaign):
    """Both ramps ran in LAMMPS (the NNP's possibly stopped by its spread guard) and the table
    holds both potentials beside the DFT EOS value."""
    import ase.io

    table = pd.read_csv(campaign / "results/transition/transitions.csv")
    assert list(table.potential) == ["nnp", "empirical"] and table.dft_eos_gpa.notna().all()
    empirical = pd.read_csv(campaign / "results/transition/empirical_trace.csv")
    assert len(empirical) == 7 * 300 // 20 and empirical.target_gpa.max() == 45.0
    squeezed = empirical.groupby("block").volume_per_fu.last()
    assert squeezed[3] < 0.85 * squeezed[0]  # 45 GPa against 0 GPa
    nnp = pd.read_csv(campaign / "results/transition/nnp_trace.csv")
    assert len(nnp) > 0 and (nnp.spread_mev_per_atom > 0).all()  # two members never agree exactly
    frames = ase.io.read(campaign / "results/transition/empirical_frames.extxyz", ":")
    assert len(frames) == 7 * 300 // 100 and len(frames[0]) == 32
    assert (campaign / "results/transition/transition.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_plan_scales_the_campaigns_own_measured_costs(campaign):
    """ionnp.plan reads this campaign's benchmark files (every stage the campaign ran, measured
    wall time x cores) and plans the paper campaign from them, costlier at every stage."""
    import sys

    from ionnp.config import load_config
    from ionnp.plan import measured_cpu_seconds, plan, unit_costs

    from .conftest import REPO

    config = load_config(campaign / "results/config.yaml")
    measured = measured_cpu_seconds(campaign, config)
    assert set(measured) >= {"sampling", "DFT relabelling", "A-Train", "fine-tuning", "MD"}
    assert all(seconds > 0 for seconds in measured.values())
    costs = unit_costs(campaign)
    here = plan(config, costs).set_index("stage").cpu_hours
    paper = plan(load_config(REPO / "config/config.yaml", REPO / "config/paper.yaml"), costs).set_index("stage")
    assert (paper.cpu_hours[list(measured)] > 10 * here[list(measured)]).all()
    printed = subprocess.run([sys.executable, "-m", "ionnp.plan", str(REPO / "config/config.yaml"),
                              str(REPO / "config/paper.yaml"), "--measured", str(campaign)],
                             capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert "DFT relabelling" in printed.stdout and "CPU-hours" in printed.stdout


@pytest.mark.slow
def test_deployed_potential_in_a_plain_lammps_input(campaign, tmp_path):
    """results/deploy/potential.pt carries the campaign's provenance and, in a plain LAMMPS input
    (the lines of results/deploy/potential.lammps, 2 MPI ranks), gives the final model's energy
    at step 0 and conserves energy: 0.5 ps of NVE at 0.5 fs from 300 K on 500 atoms of the
    ground state, drift below 1e-4 eV/atom/ps (measured 2026-12-07: −4.9e-6)."""
    import hashlib

    from ase.io import read

    from ionnp.deploy.export import read_metadata
    from ionnp.deploy.lammps_input import plugin_path
    from ionnp.nnp.calculator import IonnpCalculator
    from plain_lammps import lammps_frame, run_lammps

    deployed = campaign / "results/deploy/potential.pt"
    meta = read_metadata(deployed)
    provenance = meta["provenance"]
    config = (campaign / "results/config.yaml").read_bytes()
    assert provenance["config_sha256"] == hashlib.sha256(config).hexdigest()
    assert provenance["source_metadata"]["stage"] == "refine"  # the final model: the round's
    assert provenance["training_set"]["structures"] > 10 and provenance["validation"]["criteria"]
    # the campaign's lines name the plugin by its file name and the model relative to the campaign
    lines = (campaign / "results/deploy/potential.lammps").read_text().splitlines()[1:]
    lines = [f"plugin load {plugin_path()}"] + [line.replace("results/deploy/potential.pt", str(deployed))
                                                for line in lines[1:]]
    atoms = lammps_frame(read(campaign / "results/prototypes/wurtzite_P0.extxyz").repeat((5, 5, 5)),
                         tmp_path)
    expected = IonnpCalculator(campaign / "models/refine_r1.pt", spread=False)
    expected.calculate(atoms)
    result = run_lammps(tmp_path, lines + [
        "velocity all create 300 4321 mom yes rot yes dist gaussian", "timestep 0.0005",
        "fix nve all nve", "thermo_style custom step time pe etotal",
        "thermo_modify format float %.12g", "thermo 40", "run 1000"], ranks=2)
    rows = np.array([[float(p) for p in line.split()] for line in result.stdout.splitlines()
                     if len(line.split()) == 4 and line.split()[0].isdigit()])
    assert len(rows) == 26
    # The deployed float32 networks give the model's own short-range energy to 4e-8 eV/atom; the
    # rest is PPPM at 1e-5 against torch-pme's converged Ewald: 3.0e-5 eV/atom measured
    # (2026-12-07; Ewald at 1e-10 agrees to 1e-6, tests/deploy/test_pair_style.py).
    assert abs(rows[0, 2] - expected.results["energy"]) / len(atoms) < 1e-4
    drift = np.polyfit(rows[:, 1], rows[:, 3], 1)[0] / len(atoms)
    assert abs(drift) < 1e-4, f"NVE drift {drift:.2e} eV/atom/ps"


@pytest.mark.slow
def test_campaign_is_complete_after_one_run(campaign):
    again = snakemake(campaign, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
