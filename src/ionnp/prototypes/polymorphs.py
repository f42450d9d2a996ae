"""Polymorph prototypes: the phases' starting cells (:mod:`ionnp.prototypes.structures`) relaxed
with the empirical potential at each pressure, and the enthalpy table that orders them.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import GPa

from ionnp.chemistry import formula_units
from ionnp.lammps.empirical import LammpsCell
from ionnp.potential import RigidIonPotential


def relax(
    atoms: Atoms,
    phase: str,
    pressure_gpa: float,
    potential: RigidIonPotential,
    force_tolerance: float = 1e-5,
    log_file: str | None = None,
) -> Atoms:
    """``atoms`` of ``phase`` (:func:`build`) relaxed (positions and cell) at ``pressure_gpa``
    with the empirical potential.

    The returned structure carries its labels as a single-point calculator (energy in eV,
    forces in eV/Å, stress in eV/Å³) and ``phase``, ``pressure_gpa``, ``volume_per_fu`` (Å³)
    and ``enthalpy_per_fu`` (eV) in ``atoms.info``.
    """
    with LammpsCell(atoms, potential, log_file=log_file) as cell:
        relaxed = cell.relax(pressure_gpa, force_tolerance=force_tolerance)
        labels = cell.labels()
    n_fu = formula_units(relaxed)
    relaxed.info.update(
        phase=phase,
        pressure_gpa=float(pressure_gpa),
        volume_per_fu=relaxed.get_volume() / n_fu,
        enthalpy_per_fu=(labels.energy + pressure_gpa * GPa * relaxed.get_volume()) / n_fu,
    )
    relaxed.calc = SinglePointCalculator(
        relaxed, energy=labels.energy, forces=labels.forces, stress=labels.stress
    )
    return relaxed


def enthalpy_table(structures: Iterable[Atoms]) -> pd.DataFrame:
    """One row per relaxed structure, sorted by pressure and phase.

    Columns: phase, pressure_gpa, volume_per_fu (Å³), energy_per_fu (eV), enthalpy_per_fu
    (eV) and delta_h_mev (meV per formula unit above the lowest phase at that pressure).
    """
    rows = [
        {
            "phase": atoms.info["phase"],
            "pressure_gpa": atoms.info["pressure_gpa"],
            "volume_per_fu": atoms.info["volume_per_fu"],
            "energy_per_fu": atoms.get_potential_energy() / formula_units(atoms),
            "enthalpy_per_fu": atoms.info["enthalpy_per_fu"],
        }
        for atoms in structures
    ]
    table = pd.DataFrame(rows).sort_values(["pressure_gpa", "phase"], ignore_index=True)
    lowest = table.groupby("pressure_gpa")["enthalpy_per_fu"].transform("min")
    table["delta_h_mev"] = 1000.0 * (table["enthalpy_per_fu"] - lowest)
    return table
