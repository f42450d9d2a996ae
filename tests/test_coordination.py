"""The coordination-number CV: derivatives by finite differences, images, phase order."""

import numpy as np
import pytest

from ionnp.coordination import CoordinationCV, coordination_number, switching
from ionnp.prototypes import build


@pytest.fixture
def distorted():
    atoms = build("wurtzite", (2, 1, 1))
    atoms.rattle(0.1, seed=3)
    strain = np.eye(3) + 0.03 * np.random.default_rng(1).normal(size=(3, 3))
    atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    return atoms


def test_switching_matches_formula_and_derivative():
    r = np.array([1.5, 2.0, 2.6, 3.3])
    s, ds = switching(r, 2.6)
    x = r / 2.6
    expected = np.where(np.isclose(x, 1), 0.5, (1 - x**6) / (1 - x**12))
    np.testing.assert_allclose(s, expected, rtol=1e-5)
    h = 1e-6
    np.testing.assert_allclose(ds, (switching(r + h, 2.6)[0] - switching(r - h, 2.6)[0]) / (2 * h), rtol=1e-5)


def test_gradient_and_virial_are_finite_differences(distorted):
    cv = CoordinationCV.for_atoms(distorted)
    _, gradient, virial = cv.evaluate(distorted.positions, distorted.cell.array)
    h = 1e-6
    for i, k in [(0, 0), (3, 1), (6, 2)]:
        plus, minus = distorted.positions.copy(), distorted.positions.copy()
        plus[i, k] += h
        minus[i, k] -= h
        numeric = (cv.evaluate(plus, distorted.cell.array)[0] - cv.evaluate(minus, distorted.cell.array)[0]) / (2 * h)
        assert gradient[i, k] == pytest.approx(numeric, abs=1e-7)
    for a, b in [(0, 0), (0, 1), (2, 1), (1, 2)]:
        values = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[a, b] += sign * h
            values.append(cv.evaluate(distorted.positions @ strain, distorted.cell.array @ strain)[0])
        assert virial[a, b] == pytest.approx((values[0] - values[1]) / (2 * h), abs=1e-7)


def test_value_does_not_depend_on_the_supercell():
    small, large = build("rocksalt"), build("rocksalt", (3, 3, 3))
    assert coordination_number(small) == pytest.approx(coordination_number(large), abs=1e-10)


def test_phases_are_ordered_by_coordination():
    cn = {phase: coordination_number(build(phase)) for phase in ("wurtzite", "hmgo", "rocksalt", "cscl")}
    assert cn["wurtzite"] < cn["hmgo"] < cn["rocksalt"] < cn["cscl"]
    assert cn["rocksalt"] - cn["wurtzite"] > 1.0
