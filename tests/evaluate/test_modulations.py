"""Models' L − T energies of the frozen modulations against DFT-like labels."""

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.charges.coulomb import coulomb
from ionnp.charges.modulation import ModulationSettings, PolarCrystal, modulation_cells
from ionnp.evaluate.modulations import model_lt_table, rms_errors
from ionnp.nnp.potential import NNPotential
from reference import ZNO, ZNO_STRUCTURES
from tiny_models import potential

SETTINGS = ModulationSettings((2, 3, 4), 0.02, 0.04, (0.5, 0.8))


def _frames(q_true: float):
    """Cells labelled with exactly q_true² E_C(1) (a reference that is pure point charges)."""
    cells = modulation_cells(PolarCrystal.from_structure(ZNO_STRUCTURES["zincblende"], ZNO), 4.62, SETTINGS)
    for cell in cells:
        cell.calc = SinglePointCalculator(cell, energy=q_true**2 * coulomb(cell, ZNO.unit_charges(cell)).energy)
    return cells


def test_only_the_right_charge_matches():
    frames = _frames(1.0)
    base = potential(1.0)
    models = {f"finetune_q{q:g}": NNPotential(base.members, q, ZNO.unit_charge) for q in (0.5, 1.0, 1.5)}
    table = model_lt_table(frames, models, ZNO)
    assert len(table) == 3 * 4  # finest k spacing only: 3 columns + the second amplitude
    by_q = {q: rows.set_index(["repeats", "amplitude"]) for q, rows in table.groupby("q")}
    # same short-range members: the L − T difference between two charges is (q² − q'²) ΔE_C(1)
    coulomb_difference = by_q[1.0].de_dft_mev  # the reference is 1.0² ΔE_C(1)
    np.testing.assert_allclose(by_q[1.5].de_model_mev - by_q[0.5].de_model_mev,
                               (1.5**2 - 0.5**2) * coulomb_difference, rtol=1e-6)
    errors = rms_errors(table, 0.02)
    assert errors.idxmin() == "finetune_q1"
    assert errors["finetune_q1.5"] > 2 * errors["finetune_q1"]  # the random network adds its own O(k²) part


def test_dft_column_is_the_labels():
    frames = _frames(0.8)
    table = model_lt_table(frames, {"m": potential(0.8)}, ZNO)
    longest = table[(table.repeats == 4)].iloc[0]
    energy = {f.info["lt_polarisation"]: f.get_potential_energy() for f in frames
              if f.info["lt_repeats"] == 4 and f.info["lt_kspacing"] == 0.5}
    assert longest.de_dft_mev == pytest.approx(1000 * (energy["L"] - energy["T"]))
