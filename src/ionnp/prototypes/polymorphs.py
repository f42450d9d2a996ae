"""Polymorph prototypes of a binary solid: unrelaxed starting cells and their relaxation.

Starting geometries are rough, with ZnO-like lattice constants (the empirical potential
relaxes them); what matters is the topology: 4-fold wurtzite and zinc blende, 5-fold layered h-MgO ("5-5", wurtzite with u = 1/2
and a flattened c/a), 6-fold rocksalt and 8-fold CsCl. Cations come first in every structure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import GPa

from ionnp.chemistry import Chemistry, formula_units
from ionnp.lammps.empirical import LammpsCell
from ionnp.potential import RigidIonPotential


def _hexagonal(a: float, c_over_a: float, u: float) -> Callable[[Chemistry], Atoms]:
    """Wurtzite-type hexagonal cell (P6₃mc; u = 1/2 gives the layered h-MgO structure)."""
    cell = [[a, 0.0, 0.0], [-a / 2, a * np.sqrt(3) / 2, 0.0], [0.0, 0.0, a * c_over_a]]
    scaled = [[1 / 3, 2 / 3, 0.0], [2 / 3, 1 / 3, 0.5], [1 / 3, 2 / 3, u], [2 / 3, 1 / 3, 0.5 + u]]
    return lambda c: Atoms([c.cation, c.cation, c.anion, c.anion], scaled_positions=scaled,
                           cell=cell, pbc=True)


def _cubic(structure: str, a: float) -> Callable[[Chemistry], Atoms]:
    return lambda c: bulk(f"{c.cation}{c.anion}", structure, a=a, cubic=True)


#: Builders of the conventional cell of each polymorph, keyed by the config's phase names.
BUILDERS: dict[str, Callable[[Chemistry], Atoms]] = {
    "wurtzite": _hexagonal(a=3.25, c_over_a=1.60, u=0.38),
    "zincblende": _cubic("zincblende", 4.62),
    "rocksalt": _cubic("rocksalt", 4.28),
    "hmgo": _hexagonal(a=3.42, c_over_a=1.25, u=0.5),
    "cscl": _cubic("cesiumchloride", 2.66),
}


def repeat(atoms: Atoms, supercell: Sequence[int], cation: str) -> Atoms:
    """``atoms`` repeated by ``supercell``, ``cation`` atoms first (the order every stage keeps)."""
    repeated = atoms.repeat(tuple(supercell))
    order = np.argsort([s != cation for s in repeated.get_chemical_symbols()], kind="stable")
    return repeated[order]


def build(phase: str, chemistry: Chemistry, supercell: Sequence[int] = (1, 1, 1)) -> Atoms:
    """Unrelaxed conventional cell of ``phase`` repeated by ``supercell``, cations first."""
    try:
        builder = BUILDERS[phase]
    except KeyError:
        raise ValueError(f"unknown polymorph {phase!r}; known: {sorted(BUILDERS)}") from None
    return repeat(builder(chemistry), supercell, chemistry.cation)


def relax(
    phase: str,
    pressure_gpa: float,
    potential: RigidIonPotential,
    supercell: tuple[int, int, int] = (1, 1, 1),
    force_tolerance: float = 1e-5,
    log_file: str | None = None,
) -> Atoms:
    """``phase`` relaxed (positions and cell) at ``pressure_gpa`` with the empirical potential.

    The returned structure carries its labels as a single-point calculator (energy in eV,
    forces in eV/Å, stress in eV/Å³) and ``phase``, ``pressure_gpa``, ``volume_per_fu`` (Å³)
    and ``enthalpy_per_fu`` (eV) in ``atoms.info``.
    """
    with LammpsCell(build(phase, potential.chemistry, supercell), potential, log_file=log_file) as cell:
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
