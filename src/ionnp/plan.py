"""What a campaign will cost before it runs: CPU-hours (core-hours) per stage, scaled from
measured costs.

Each stage's cost is a number of *work units* that follows from the config alone, times a
measured cost per unit (CPU-seconds). The units are the leading scaling of each stage's work:

- sampling: atoms × MD steps, per metadynamics run;
- DFT (relabel, eos_dft, lt_dft, dfpt, loading_dft): Σ N³ × n_k × E_cut^1.5 over the structures (plane-wave
  DFT: bands² × plane waves per k-point), N the atoms, n_k the Monkhorst–Pack points, E_cut the
  wavefunction cut-off (Ry); relabelled structures are the sampling cells, spread evenly over
  the sampled phases;
- training (pretrain, finetune): frames × atoms per frame × epochs × members (the descriptors
  and the neighbour graph dominate a step at these network widths, so the width does not enter;
  the epochs are the configured maximum, so the estimate is an upper bound: early stopping
  ends most runs well before it);
- NNP MD (md, transition with the NNP, the refinement's exploration): atoms × steps × members;
  the empirical ramp atoms × steps;
- the refinement's DFT and training: as relabelling and fine-tuning, per round (a round's
  training set grows by the rounds' budgets).

The cost per unit comes from a finished campaign's Snakemake ``benchmark:`` files (its
``logs/benchmarks/`` and ``results/config.yaml``): :func:`unit_costs` divides each stage's
measured core-seconds (wall time × cores held) by its units under that campaign's config.
:data:`REFERENCE_PATH` ships the unit costs of one such run for a fresh clone. Estimates carry the scaling laws' error (a factor of
~2 between cells of very different sizes) and none of a cluster's queueing or MPI efficiency.

    python -m ionnp.plan config/config.yaml config/paper.yaml [--measured CAMPAIGN_DIR]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ionnp.chemistry import Chemistry, formula_units
from ionnp.config import load_config, loading_phases, lt_volume_phase, refine_phases

#: Stages in report order, each with the benchmark files (under logs/benchmarks/) it is measured by.
STAGES = {
    "sampling": ["sampling/*/*.tsv"],
    "DFT relabelling": ["dft/shard_*.tsv"],
    "equations of state (DFT)": ["dft/eos_*.tsv"],
    "frozen modulations (DFT)": ["charges/lt_dft.tsv"],
    "DFPT": ["charges/dfpt.tsv"],
    "A-Train": ["train/pretrain_q*.tsv"],
    "fine-tuning": ["train/finetune_q*.tsv", "train/scratch_q*.tsv"],
    "MD": ["md/md.tsv"],
    "transition (NNP)": ["transition/nnp.tsv"],
    "transition (empirical)": ["transition/empirical.tsv"],
    "loading (DFT)": ["loading/*_dft.tsv"],
    "refinement (explore)": ["refine/round*_explore.tsv"],
    "refinement (DFT)": ["refine/round*_dft.tsv"],
    "refinement (training)": ["refine/round*_train.tsv"],
}
#: Note on the training rows of the estimate.
UPPER_BOUND = "at most: every configured epoch"
#: The shipped cost per unit (core-seconds) with the run that measured it; regenerate with
#: ``python -m ionnp.plan --calibrate CAMPAIGN_DIR``.
REFERENCE_PATH = Path(__file__).resolve().parent / "plan_reference.yaml"


def _cell(config: Mapping[str, Any], phase: str, supercell: Sequence[int]):
    from ionnp.prototypes.structures import build

    chemistry = Chemistry.from_charges(config["potential"]["charges"])
    return build(config["prototypes"]["structures"][phase], chemistry, supercell)


def _dft_units(atoms, kspacing: float, ecutwfc: float, kpoints: Sequence[int] | None = None) -> float:
    from ionnp.dft.pw import kpoint_grid

    n_k = math.prod(kpoints if kpoints is not None else kpoint_grid(atoms, kspacing))
    return len(atoms) ** 3 * n_k * ecutwfc**1.5


def work_units(config: Mapping[str, Any]) -> dict[str, tuple[int, float]]:
    """``{stage: (jobs, units)}`` of a validated config (see the module docstring)."""
    chemistry = Chemistry.from_charges(config["potential"]["charges"])
    sampling, dft, training = config["sampling"], config["dft"], config["train"]
    ecut = dft["ecutwfc"]
    units: dict[str, tuple[int, float]] = {}

    runs = (len(sampling["temperatures"]) * len(sampling["pressures"]) * sampling["walkers"])
    sample_cells = {p: _cell(config, p, sampling["supercell"][p]) for p in sampling["phases"]}
    units["sampling"] = (runs * len(sample_cells),
                         runs * sampling["steps"] * sum(len(c) for c in sample_cells.values()))

    per_structure = sum(_dft_units(c, dft["kspacing"], ecut) for c in sample_cells.values()) / len(sample_cells)
    shards = -(-config["distill"]["n_dft"] // config["distill"]["shard_size"])
    units["DFT relabelling"] = (shards, config["distill"]["n_dft"] * per_structure)

    eos = config["eos"]
    units["equations of state (DFT)"] = (len(eos["phases"]), len(eos["volume_scales"]) * sum(
        _dft_units(_cell(config, p, config["prototypes"]["supercell"]), dft["kspacing"], ecut)
        for p in eos["phases"]))

    from ionnp.charges.modulation import ModulationSettings, modulation_cells
    from ionnp.charges.polar import PolarCrystal
    from ionnp.prototypes.structures import primitive_cell

    roles, lt = config["prototypes"]["roles"], config["charges"]["lt"]
    crystal = PolarCrystal.from_structure(config["prototypes"]["structures"][roles["polar_cubic"]], chemistry)
    volume_cell = _cell(config, lt_volume_phase(config), (1, 1, 1))
    a = crystal.lattice_constant(volume_cell.get_volume() / formula_units(volume_cell))  # as rule lt_dft
    cells = modulation_cells(crystal, a, ModulationSettings.from_config(lt))
    primitive = primitive_cell(_cell(config, roles["ground_state"], (1, 1, 1)))  # as rule dfpt
    units["frozen modulations (DFT)"] = (1, sum(_dft_units(c, 0, ecut, c.info["lt_kpoints"]) for c in cells))
    units["DFPT"] = (1, sum(_dft_units(primitive, k, ecut) for k in config["charges"]["dfpt"]["kspacing"]))

    members = config["model"]["ensemble_size"]
    atoms_per_frame = sum(len(c) for c in sample_cells.values()) / len(sample_cells)
    charges = len(set(training["q_grid"])) + 1  # the grid and q_eff
    from ionnp.train.settings import TrainingSettings

    pretrain = TrainingSettings.from_config(training["pretrain"]).epochs
    finetune = TrainingSettings.from_config(training["finetune"], finetune=True).epochs
    units["A-Train"] = (charges, charges * config["distill"]["n_pretrain"] * atoms_per_frame
                        * pretrain * members)
    train_structures = config["distill"]["n_dft"] * dft["split"]["train"]
    finetunes = charges + int(training["scratch_baseline"])
    units["fine-tuning"] = (finetunes, finetunes * train_structures * atoms_per_frame
                            * finetune * members)

    md = config["md"]
    md_atoms = len(_cell(config, roles["ground_state"], md["supercell"]))
    md_steps = md["nve_steps"] + len(md["compression_pressures"]) * md["steps_per_pressure"]
    units["MD"] = (1, md_atoms * md_steps * members)
    ramp = config["transition"]
    if roles["high_pressure"] is not None:  # else no ramp is run
        ramp_atoms = len(_cell(config, roles["ground_state"], ramp["supercell"]))
        ramp_steps = (2 * len(ramp["pressures"]) - 1) * ramp["steps_per_pressure"]
        units["transition (NNP)"] = (1, ramp_atoms * ramp_steps * members)
        units["transition (empirical)"] = (1, ramp_atoms * ramp_steps)
    loading = config["loading"]
    cells = [_cell(config, p, [a * b for a, b in zip(config["prototypes"]["supercell"],
                                                      loading["supercell"].get(p, [1, 1, 1]))])
             for p in loading_phases(config)]
    units["loading (DFT)"] = (len(cells), len(loading["paths"]) * len(loading["strains"])
                              * sum(_dft_units(c, dft["kspacing"], ecut) for c in cells))
    refine = config["refine"]
    rounds = refine["rounds"]
    if rounds:  # else no round is run
        explore = refine["explore"]
        supercell = {**sampling["supercell"], **refine["supercell"]}
        grid = sum(len(_cell(config, p, supercell.get(p, [1, 1, 1]))) for p in refine_phases(config))
        deformed = [roles["ground_state"]] + ([roles["high_pressure"]] if roles["high_pressure"] else [])
        per_deformed = len(explore["deform"]) + (explore["hot_temperature"] is not None)
        atoms_runs = (grid * len(explore["temperatures"]) * len(explore["pressures"])
                      + per_deformed * sum(len(_cell(config, p, supercell.get(p, [1, 1, 1]))) for p in deformed))
        units["refinement (explore)"] = (rounds, rounds * atoms_runs * explore["steps"] * members)
        units["refinement (DFT)"] = (rounds, rounds * refine["budget"] * per_structure)
        refine_epochs = TrainingSettings.from_config({**training["finetune"], **refine["finetune"]},
                                                     finetune=True).epochs
        structures = sum(train_structures + r * refine["budget"] for r in range(1, rounds + 1))
        units["refinement (training)"] = (rounds, structures * atoms_per_frame * refine_epochs * members)
    return units


def stage_cores(stage: str, config: Mapping[str, Any]) -> int:
    """Cores a job of ``stage`` holds (what a cluster charges its wall time for)."""
    if "(DFT)" in stage or stage in ("DFT relabelling", "DFPT"):
        return config["dft"]["tasks"]
    if stage in ("refinement (explore)", "refinement (training)"):
        return config["refine"]["threads"]
    if stage == "MD":
        return config["md"]["threads"]
    if stage.startswith("transition"):
        return config["transition"]["threads"]
    return 1


def measured_cpu_seconds(campaign: str | Path, config: Mapping[str, Any]) -> dict[str, float]:
    """Core-seconds per stage of a finished campaign run with ``config``: the wall time ``s`` of
    each job in its ``logs/benchmarks/*.tsv`` times the cores the job held. (Snakemake's
    ``cpu_time`` misses child processes that end between its samples, e.g. pw.x runs.)"""
    seconds = {}
    for stage, patterns in STAGES.items():
        files = [f for pattern in patterns for f in sorted(Path(campaign, "logs/benchmarks").glob(pattern))]
        if files:
            wall = sum(float(pd.read_csv(f, sep="\t").s.sum()) for f in files)
            seconds[stage] = wall * stage_cores(stage, config)
    return seconds


def unit_costs(campaign: str | Path) -> dict[str, float]:
    """Core-seconds per work unit of each stage a finished campaign measured."""
    config = load_config(Path(campaign, "results", "config.yaml"))
    units = work_units(config)
    return {stage: seconds / units[stage][1] for stage, seconds in measured_cpu_seconds(campaign, config).items()}


def reference() -> dict[str, Any]:
    """The shipped calibration: ``{"run": provenance, "core_seconds_per_unit": {stage: s}}``."""
    return yaml.safe_load(REFERENCE_PATH.read_text())


def plan(config: Mapping[str, Any], costs: Mapping[str, float]) -> pd.DataFrame:
    """Jobs, work units and estimated CPU-hours per stage of a validated config."""
    rows = [{"stage": stage, "jobs": jobs, "units": units,
             "cpu_hours": units * costs[stage] / 3600 if stage in costs else float("nan"),
             "note": UPPER_BOUND if stage in ("A-Train", "fine-tuning") else ""}
            for stage, (jobs, units) in work_units(config).items()]
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ionnp.plan", description=__doc__.split("\n")[0])
    parser.add_argument("configfiles", nargs="*", type=Path,
                        help="the config stack, as snakemake gets it (default first)")
    parser.add_argument("--measured", type=Path,
                        help="a finished campaign whose logs/benchmarks give the unit costs "
                             "(default: the shipped reference run)")
    parser.add_argument("--calibrate", type=Path, metavar="CAMPAIGN_DIR",
                        help="print a new reference file from a finished campaign, and stop")
    args = parser.parse_args(argv)
    if args.calibrate:
        costs = unit_costs(args.calibrate)
        print(yaml.safe_dump({"run": "FILL IN: date, commit, config, machine, what else ran",
                              "core_seconds_per_unit": {k: float(f"{v:.4g}") for k, v in costs.items()}},
                             sort_keys=False), end="")
        return
    config = load_config(*args.configfiles)
    if args.measured:
        costs, source = unit_costs(args.measured), f"measured in {args.measured}"
    else:
        shipped = reference()
        costs, source = shipped["core_seconds_per_unit"], f"the reference run ({shipped['run']})"
    table = plan(config, costs)
    print(f"Estimated cost of {' + '.join(map(str, args.configfiles))}, unit costs from {source}:")
    print(table.to_string(index=False, formatters={"units": "{:.3g}".format, "cpu_hours": "{:.3g}".format}))
    print(f"total: {table.jobs.sum()} jobs of these stages, {table.cpu_hours.sum():.3g} CPU-hours")


if __name__ == "__main__":
    main()
