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
    # One structure: every resample is that structure, the interval is its RMSE.
    assert rocksalt.energy_rmse_mev_per_atom_low == pytest.approx(2.0)
    assert rocksalt.energy_rmse_mev_per_atom_high == pytest.approx(2.0)


def test_bootstrap_interval_matches_the_standard_error_of_an_rmse():
    """400 structures with Gaussian energy errors of σ = 1 meV/atom: the RMSE's standard error is
    σ/√(2n) = 0.0354 (delta method on the mean of χ²₁ terms), so a 95 % interval spans
    2 × 1.96 × 0.0354 = 0.139 meV/atom around it."""
    rng = np.random.default_rng(7)
    n = 400
    errors = rng.normal(0.0, 1e-3, n)  # eV/atom, one-atom structures
    table = error_table([1] * n, errors, np.zeros(n), [np.zeros((1, 3))] * n, [np.zeros((1, 3))] * n,
                        [np.zeros(6)] * n, [np.zeros(6)] * n, groups={}, bootstrap=4000)
    every = table.iloc[0]
    width = every.energy_rmse_mev_per_atom_high - every.energy_rmse_mev_per_atom_low
    assert width == pytest.approx(2 * 1.96 / np.sqrt(2 * n), rel=0.15)
    assert every.energy_rmse_mev_per_atom_low < every.energy_rmse_mev_per_atom < every.energy_rmse_mev_per_atom_high
