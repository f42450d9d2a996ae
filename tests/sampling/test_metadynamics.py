"""Well-tempered metadynamics bookkeeping against hand-computed values."""

import numpy as np
import pytest
from ase.units import kB

from ionnp.sampling.metadynamics import WellTemperedMetadynamics


def make(**kwargs):
    settings = dict(height=0.1, width=0.2, bias_temperature=3000.0, temperature=1000.0,
                    walls=(3.0, 7.0), wall_constant=10.0)
    return WellTemperedMetadynamics(**{**settings, **kwargs})


def test_hill_heights_are_tempered():
    metad = make()
    assert metad.deposit(4.0) == pytest.approx(0.1)
    # Second hill at the same place: damped by exp(-0.1 / kB ΔT).
    assert metad.deposit(4.0) == pytest.approx(0.1 * np.exp(-0.1 / (kB * 3000.0)))


def test_bias_and_slope():
    metad = make()
    metad.deposit(4.0)
    value, slope = metad.bias(4.2)
    assert value == pytest.approx(0.1 * np.exp(-0.5))
    assert slope == pytest.approx(-0.2 / 0.04 * 0.1 * np.exp(-0.5))
    h = 1e-6
    assert slope == pytest.approx((metad.bias(4.2 + h)[0] - metad.bias(4.2 - h)[0]) / (2 * h))


def test_walls_are_harmonic():
    metad = make()
    assert metad.bias(7.5) == pytest.approx((0.5 * 10.0 * 0.25, 10.0 * 0.5))
    assert metad.bias(2.0) == pytest.approx((0.5 * 10.0, -10.0))
    assert metad.bias(5.0) == (0.0, 0.0)


def test_free_energy_is_scaled_negative_bias():
    metad = make()
    metad.deposit(4.0)
    grid = np.array([4.0, 10.0])
    # F = -(T+ΔT)/ΔT V, shifted to min 0: F(4) = 0, F(10) = 4/3 · 0.1.
    np.testing.assert_allclose(metad.free_energy(grid), [0.0, 4 / 3 * 0.1], atol=1e-12)
