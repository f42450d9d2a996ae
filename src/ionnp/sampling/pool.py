"""The pool: every sampled frame in one table of what it is and where it came from."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from ase import Atoms

from ionnp.chemistry import formula_units


def pool_index(frames: Iterable[Atoms]) -> pd.DataFrame:
    """One row per pool frame: phase, T, P of its run, walker, step, CV, instantaneous T and
    P, volume per formula unit, energies per atom (total, Buckingham, Coulomb)."""
    rows = []
    for k, atoms in enumerate(frames):
        n = len(atoms)
        rows.append(dict(
            frame=k, phase=atoms.info["phase"], run_temperature_k=atoms.info["run_temperature_k"],
            run_pressure_gpa=atoms.info["run_pressure_gpa"], walker=atoms.info["walker"],
            step=atoms.info["step"], cv=atoms.info["cv"], temperature_k=atoms.info["temperature_k"],
            pressure_gpa=atoms.info["pressure_gpa"], n_atoms=n,
            volume_per_fu=atoms.get_volume() / formula_units(atoms),
            energy_per_atom=atoms.get_potential_energy() / n,
            buck_energy_per_atom=atoms.info["buck_energy"] / n,
            coul_energy_per_atom=atoms.info["coul_energy"] / n,
        ))
    return pd.DataFrame(rows)


__all__ = ["pool_index"]
