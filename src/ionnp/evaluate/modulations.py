"""The test no cut-off model can fake: each model's L − T energy of the frozen modulations.

The longitudinal and transverse modulations of :mod:`ionnp.charges.modulation` have the same
local environments to O((2πr/λ)²); their energy difference is electrostatic. A model with an
explicit Coulomb term at q predicts about q² [E_C(1)(L) − E_C(1)(T)] plus what its short-range
part makes of the O(k²) differences, so only a model near the right q can match DFT's
E(L) − E(T) on these cells, which no model was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.charges.modulation import ratio_table
from ionnp.chemistry import Chemistry
from ionnp.nnp.potential import NNPotential


def model_lt_table(frames: Sequence[Atoms], models: Mapping[str, NNPotential],
                   chemistry: Chemistry) -> pd.DataFrame:
    """DFT against each model's E(L) − E(T) on the DFT-labelled modulation cells of the finest
    k spacing (``frames``: ``results/charges/lt_dft.db``).

    Returns one row per (model, column, amplitude): variant, q (e), repeats, wavelength (Å),
    amplitude (Å), de_dft_mev and de_model_mev (meV per cell), error_mev = model − DFT.
    """
    finest = min(float(a.info["lt_kspacing"]) for a in frames)
    frames = [a for a in frames if float(a.info["lt_kspacing"]) == finest]
    dft = ratio_table(frames, chemistry).set_index(["repeats", "amplitude"])
    tables = []
    for name, model in models.items():
        labelled = []
        for atoms, prediction in zip(frames, model.predict_many(frames, forces=False, stress=False,
                                                                spread=False)):
            copy = atoms.copy()
            copy.calc = SinglePointCalculator(copy, energy=prediction.energy)
            labelled.append(copy)
        predicted = ratio_table(labelled, chemistry).set_index(["repeats", "amplitude"])
        table = pd.DataFrame({
            "variant": name, "q": model.charge, "wavelength": dft["wavelength"],
            "de_dft_mev": 1000.0 * dft["de_reference"],
            "de_model_mev": 1000.0 * predicted["de_reference"]}).reset_index()
        tables.append(table.assign(error_mev=table.de_model_mev - table.de_dft_mev))
    return pd.concat(tables, ignore_index=True)


def rms_errors(table: pd.DataFrame, amplitude: float) -> pd.Series:
    """RMS L − T error (meV per cell) of each variant at ``amplitude`` (Å), indexed by variant."""
    rows = table[np.isclose(table.amplitude, amplitude)]
    return rows.groupby("variant").error_mev.apply(lambda e: float(np.sqrt(np.mean(e**2))))


__all__ = ["model_lt_table", "rms_errors"]
