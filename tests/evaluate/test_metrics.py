"""Metrics against hand-computed values."""

import numpy as np
import pytest
from ase.units import GPa

from ionnp.evaluate.metrics import error_table


def test_hand_computed_errors():
    table = error_table(
        n_atoms=[2, 4],
        energy_pred=[1.0, 2.0], energy_ref=[0.998, 2.008],          # errors 1 and 2 meV/atom
        forces_pred=[np.zeros((2, 3)), np.zeros((4, 3))],
        forces_ref=[np.full((2, 3), 0.003), np.full((4, 3), -0.006)],  # |3| ×6, |6| ×12 meV/Å
        stress_pred=[np.zeros(6), np.zeros(6)],
        stress_ref=[np.full(6, 1.0 * GPa), np.full(6, 2.0 * GPa)],
        groups={"phase": ["wurtzite", "rocksalt"]},
    )
    every = table.iloc[0]
    assert every.group == "all" and every.n_structures == 2
    assert every.energy_rmse_mev_per_atom == pytest.approx(np.sqrt((1 + 4) / 2))
    assert every.energy_mae_mev_per_atom == pytest.approx(1.5)
    assert every.force_rmse_mev_per_a == pytest.approx(np.sqrt((6 * 9 + 12 * 36) / 18))
    assert every.force_mae_mev_per_a == pytest.approx((6 * 3 + 12 * 6) / 18)
    assert every.stress_rmse_gpa == pytest.approx(np.sqrt(2.5))
    rocksalt = table[(table.group == "phase") & (table.value == "rocksalt")].iloc[0]
    assert rocksalt.energy_mae_mev_per_atom == pytest.approx(2.0)
    assert rocksalt.stress_mae_gpa == pytest.approx(2.0)
