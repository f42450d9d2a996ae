"""Evaluation of trained models (and of the empirical potential) on the DFT test split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from ase import Atoms

from ionnp.charges.coulomb import CoulombResult
from ionnp.evaluate.metrics import error_table
from ionnp.nnp.potential import NNPotential


def predictions(model: NNPotential, frames: Sequence[Atoms],
                units: Sequence[CoulombResult]) -> tuple[list[float], list[np.ndarray], list[np.ndarray]]:
    """Energies (eV), forces (eV/Å) and stresses (eV/Å³) of ``model`` (Coulomb included)."""
    out = model.predict_many(list(frames), coulomb_units=list(units))
    return [p.energy for p in out], [p.forces for p in out], [p.stress for p in out]


def empirical_predictions(frames: Sequence[Atoms], reference: Sequence[Atoms]
                          ) -> tuple[list[float], list[np.ndarray], list[np.ndarray]]:
    """The empirical potential's labels of ``frames``, energies shifted by the mean per-atom
    offset to DFT over ``reference`` (absolute energies of the two are not comparable)."""
    offset = np.mean([(a.get_potential_energy() - a.info["emp_energy"]) / len(a) for a in reference])
    return ([a.info["emp_energy"] + offset * len(a) for a in frames],
            [a.arrays["emp_forces"] for a in frames], [a.info["emp_stress"] for a in frames])


def pressure_bin(pressure_gpa: float, width: float = 10.0) -> str:
    """'0-10 GPa', '10-20 GPa', ... (negative pressures fall in the first bin below zero)."""
    low = width * np.floor(pressure_gpa / width)
    return f"{low:g}-{low + width:g} GPa"


def evaluate_variant(name: str, frames: Sequence[Atoms], predicted) -> pd.DataFrame:
    """Metrics of one variant per phase of origin and per pressure bin."""
    energies, forces, stresses = predicted
    table = error_table(
        [len(a) for a in frames], energies, [a.get_potential_energy() for a in frames],
        forces, [a.get_forces() for a in frames], stresses, [a.get_stress() for a in frames],
        groups={"phase": [a.info["phase"] for a in frames],
                "pressure": [pressure_bin(a.info["run_pressure_gpa"]) for a in frames]})
    return table.assign(variant=name)
