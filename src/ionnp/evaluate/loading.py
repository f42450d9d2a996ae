"""The unseen-loading test: tensile and shear strain paths, labelled by DFT and never trained on.

A path is a direction in strain space, given in Voigt order (xx, yy, zz, yz, xz, xy) of the
symmetric strain tensor ε (tensor shear components, so γ_xz = 2 ε_xz), in the Cartesian frame of
the relaxed prototype (LAMMPS's: a along x, b in the xy plane). The cell at strain s along the
unit direction d is deformed by F = 1 + s ε(d); the positions are relaxed at that fixed cell with
the empirical potential (the path's quasi-static answer, internal parameters such as a hexagonal
cell's u included) and then displaced by a seeded Gaussian of ``rattle`` Å per component,
a thermal snapshot's disorder. The cells carry their empirical labels, so the DFT stage keeps them
aside as ``emp_*`` and every model, the empirical potential included, is compared on them.

The same structures serve the calibration of the ensemble spread: the spread against the true
error, per structure, on the test split and on these cells (:func:`calibration_table`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import GPa
from scipy.stats import spearmanr

from ionnp.evaluate.metrics import error_table
from ionnp.lammps.empirical import LammpsCell
from ionnp.nnp.prediction import Prediction
from ionnp.potential import RigidIonPotential
from ionnp.voigt import from_voigt

#: Predictions of one variant over a list of frames: energies (eV), forces [(N, 3) eV/Å],
#: stresses [(6,) eV/Å³].
Predicted = tuple[Sequence[float], Sequence[np.ndarray], Sequence[np.ndarray]]


@dataclass(frozen=True)
class LoadingPath:
    """One strain path: ``name`` and its unit ``direction`` (6,) in Voigt order."""

    name: str
    direction: np.ndarray

    @classmethod
    def from_config(cls, name: str, voigt: Sequence[float]) -> LoadingPath:
        """A path of ``loading.paths``; its direction is normalised.

        Raises:
            ValueError: a direction without strain (names the key).
        """
        direction = np.asarray(voigt, dtype=float)
        norm = np.linalg.norm(direction)
        if direction.shape != (6,) or norm == 0.0:
            raise ValueError(f"loading.paths.{name}: a Voigt strain direction of 6 numbers, not all "
                             f"zero, is needed (got {list(voigt)})")
        return cls(name, direction / norm)

    def deformation(self, strain: float) -> np.ndarray:
        """F = 1 + strain · ε(direction), (3, 3)."""
        return np.eye(3) + strain * from_voigt(self.direction)

    def stress_along(self, stress: np.ndarray) -> float:
        """The stress's Voigt vector (6,) projected on the path's unit direction, in the stress's
        unit: σ_zz for tension along z, σ_xz for xz shear."""
        return float(np.asarray(stress) @ self.direction)


def paths_from_config(section: Mapping[str, Sequence[float]]) -> list[LoadingPath]:
    """Every path of ``loading.paths``, in the file's order."""
    return [LoadingPath.from_config(name, voigt) for name, voigt in section.items()]


def strained_cell(start: Atoms, path: LoadingPath, strain: float) -> Atoms:
    """``start`` homogeneously deformed along ``path`` to ``strain`` (positions follow the cell)."""
    atoms = start.copy()
    atoms.calc = None
    atoms.set_cell(start.cell.array @ path.deformation(strain).T, scale_atoms=True)
    return atoms


def loading_cells(start: Atoms, phase: str, paths: Sequence[LoadingPath], strains: Sequence[float],
                  potential: RigidIonPotential, *, rattle: float, seed: int) -> list[Atoms]:
    """The test cells of one phase: every path at every strain (see the module docstring).

    Args:
        start: the phase relaxed at 0 GPa (any supercell).
        strains: the strains of every path (dimensionless, e.g. 0.05 for 5 %).
        rattle: standard deviation of the displacements (Å).
        seed: the displacements' seed (each cell its own stream, fixed by path and strain order).

    Returns:
        Cells with the empirical labels as a single-point calculator and ``phase``,
        ``loading_path``, ``strain``, ``structure_id`` in ``info``.
    """
    rng = np.random.default_rng(seed)
    cells = []
    for path in paths:
        for strain in strains:
            atoms = strained_cell(start, path, strain)
            with LammpsCell(atoms, potential) as lammps:
                atoms.positions = lammps.relax_positions()
            atoms.positions += rng.normal(0.0, rattle, size=atoms.positions.shape)
            atoms.wrap()
            with LammpsCell(atoms, potential) as lammps:
                labels = lammps.labels()
            atoms.calc = SinglePointCalculator(atoms, energy=labels.energy, forces=labels.forces,
                                               stress=labels.stress)
            atoms.info.update(phase=phase, loading_path=path.name, strain=float(strain),
                              structure_id=f"loading_{phase}_{path.name}_{strain:.4f}")
            cells.append(atoms)
    return cells


def loading_errors(frames: Sequence[Atoms], variants: Mapping[str, Predicted]) -> pd.DataFrame:
    """Errors of every variant on the loading cells: all of them, per phase and path, and per
    phase, path and strain (:func:`ionnp.evaluate.metrics.error_table`'s columns plus
    ``variant``)."""
    path = [f"{a.info['phase']} {a.info['loading_path']}" for a in frames]
    point = [f"{p} {a.info['strain']:g}" for p, a in zip(path, frames)]
    tables = []
    for name, (energies, forces, stresses) in variants.items():
        table = error_table(
            [len(a) for a in frames], energies, [a.get_potential_energy() for a in frames],
            forces, [a.get_forces() for a in frames], stresses, [a.get_stress() for a in frames],
            groups={"path": path, "strain": point})
        tables.append(table.assign(variant=name))
    return pd.concat(tables, ignore_index=True)


def stress_strain_table(frames: Sequence[Atoms], variants: Mapping[str, Predicted],
                        paths: Sequence[LoadingPath]) -> pd.DataFrame:
    """The stress along each path (GPa) of DFT and every variant, one row per cell and variant
    (columns phase, path, strain, variant, stress_gpa); "DFT" is the reference."""
    by_name = {p.name: p for p in paths}
    rows = []
    for k, atoms in enumerate(frames):
        path = by_name[atoms.info["loading_path"]]
        stresses = {"DFT": atoms.get_stress()} | {name: np.asarray(v[2][k]) for name, v in variants.items()}
        for name, stress in stresses.items():
            rows.append(dict(phase=atoms.info["phase"], path=path.name, strain=atoms.info["strain"],
                             variant=name, stress_gpa=path.stress_along(stress) / GPa))
    return pd.DataFrame(rows)


def spread_and_error(frames: Sequence[Atoms], predictions: Sequence[Prediction]) -> pd.DataFrame:
    """Per structure: the ensemble spread and the true error of one model, in the units the MD
    guard uses (energy per atom, meV/atom) and for forces (RMS over components, meV/Å).

    Columns: energy_spread_mev_per_atom (population std of the members' energies per atom),
    energy_error_mev_per_atom (|E − E_DFT| per atom), force_spread_mev_per_a (RMS of the
    members' per-component std), force_error_mev_per_a (RMS of the force error).
    """
    rows = []
    for atoms, p in zip(frames, predictions):
        n = len(atoms)
        force_spread = np.nan if p.forces_std is None else 1000.0 * np.sqrt(np.mean(p.forces_std**2))
        rows.append(dict(
            energy_spread_mev_per_atom=1000.0 * p.energy_std / n,
            energy_error_mev_per_atom=1000.0 * abs(p.energy - atoms.get_potential_energy()) / n,
            force_spread_mev_per_a=force_spread,
            force_error_mev_per_a=1000.0 * np.sqrt(np.mean((p.forces - atoms.get_forces()) ** 2)),
        ))
    return pd.DataFrame(rows)


def rank_correlations(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman's ρ of spread against error, energy and forces, per ``set`` of ``table``
    (rows of :func:`spread_and_error` with a ``set`` column); NaN where a set has < 3 rows."""
    rows = []
    for name, group in table.groupby("set", sort=False):
        row = {"set": name, "n_structures": len(group)}
        for quantity in ("energy", "force"):
            spread = group[f"{quantity}_spread_mev_per_{'atom' if quantity == 'energy' else 'a'}"]
            error = group[f"{quantity}_error_mev_per_{'atom' if quantity == 'energy' else 'a'}"]
            row[f"{quantity}_spearman"] = (float(spearmanr(spread, error).statistic)
                                           if len(group) >= 3 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["LoadingPath", "Predicted", "loading_cells", "loading_errors", "paths_from_config",
           "rank_correlations", "spread_and_error", "strained_cell", "stress_strain_table"]
