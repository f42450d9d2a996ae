"""Full-precision storage of labelled frames in ASE databases (SQLite, float64).

extxyz prints 8 decimals, which is not enough where per-atom energies must sum to a total
to 1e-8 eV; ASE's database keeps every float64 and every array. Each row holds the
structure, the total labels (energy, forces, stress) as calculator results, scalar metadata
as key-value pairs (phase, temperature, pressure, CV, step, ...) and arrays as row data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

import ase.db
import numpy as np
from ase import Atoms

from ionnp.io import atomic_path

#: Standard per-atom arrays that ASE keeps itself; any other array goes to row data.
_ASE_ARRAYS = {"numbers", "positions", "momenta", "masses", "initial_charges",
               "initial_magmoms", "tags"}


def _split_info(atoms: Atoms) -> tuple[dict, dict]:
    """Scalars of ``atoms.info`` (key-value pairs); its arrays and ``atoms.arrays`` (row data)."""
    pairs, info = {}, {}
    for key, value in atoms.info.items():
        if isinstance(value, (str, bool, int, float, np.integer, np.floating)):
            pairs[key] = value.item() if isinstance(value, np.generic) else value
        else:
            info[key] = np.asarray(value)
    arrays = {k: np.asarray(v) for k, v in atoms.arrays.items() if k not in _ASE_ARRAYS}
    return pairs, {"info": info, "arrays": arrays}


def write_frames(path: str | os.PathLike, frames: Iterable[Atoms]) -> int:
    """Write ``frames`` (with their calculators' results) to a new database, atomically.

    Returns the number of frames written.
    """
    count = 0
    with atomic_path(path) as tmp:
        os.unlink(tmp)  # ase.db appends to existing files
        with ase.db.connect(tmp, type="db", append=False) as db:
            for atoms in frames:
                pairs, data = _split_info(atoms)
                db.write(atoms, key_value_pairs=pairs, data=data)
                count += 1
    return count


def read_frames(path: str | os.PathLike) -> list[Atoms]:
    """Every frame of a database, in order, with info, arrays and calculator results."""
    return list(iter_frames(path))


def iter_frames(path: str | os.PathLike) -> Iterator[Atoms]:
    """Frames of a database one at a time (see :func:`read_frames`)."""
    with ase.db.connect(path, type="db") as db:
        for row in db.select(sort="id"):
            atoms = row.toatoms()
            atoms.info.update(row.key_value_pairs)
            atoms.info.update(row.data.get("info", {}))
            atoms.arrays.update(row.data.get("arrays", {}))
            yield atoms


def merge_frames(paths: Sequence[str | os.PathLike], target: str | os.PathLike) -> int:
    """Concatenate databases into ``target`` (atomically); return the number of frames."""
    return write_frames(target, (atoms for path in paths for atoms in iter_frames(path)))


def stratum(atoms: Atoms) -> str:
    """The stratum of a labelled frame, as a label: its sampling run's phase, temperature (K)
    and pressure (GPa) (``info['phase']``, ``info['run_temperature_k']``,
    ``info['run_pressure_gpa']``), e.g. ``'wurtzite 600 K 10 GPa'``; an equation-of-state
    cell (``info['source'] == 'eos'``) is in its phase's ``'<phase> eos'`` stratum.

    Raises:
        KeyError: ``info`` lacks one of those keys.
    """
    info = atoms.info
    if info.get("source") == "eos":
        return f"{info['phase']} eos"
    return f"{info['phase']} {float(info['run_temperature_k']):g} K {float(info['run_pressure_gpa']):g} GPa"
