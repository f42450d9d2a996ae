"""The coordination-number CV: derivatives by finite differences, images, phase order."""

import numpy as np
import pytest

from ionnp.sampling.coordination import (
    CoordinationCV,
    VerletCoordination,
    coordination_number,
    switching,
)
from reference import zno_cell


@pytest.fixture
def distorted():
    atoms = zno_cell("wurtzite", (2, 1, 1))
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
    cv = CoordinationCV.for_atoms(distorted, ["Zn"], ["O"], 2.6)
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


def test_value_alone_is_that_of_evaluate(distorted):
    cv = CoordinationCV.for_atoms(distorted, ["Zn"], ["O"], 2.6)
    positions, cell = distorted.positions, distorted.cell.array
    assert cv.value(positions, cell) == pytest.approx(cv.evaluate(positions, cell)[0], abs=1e-12)


def assert_same_cv(got, expected):
    assert got[0] == pytest.approx(expected[0], abs=1e-12)
    np.testing.assert_allclose(got[1], expected[1], atol=1e-12)
    np.testing.assert_allclose(got[2], expected[2], atol=1e-12)


def test_verlet_list_gives_the_cv_of_a_fresh_search(distorted):
    cv = CoordinationCV.for_atoms(distorted, ["Zn"], ["O"], 2.6)
    verlet = VerletCoordination(cv, skin=1.0)
    positions, cell = distorted.positions, distorted.cell.array
    assert_same_cv(verlet.evaluate(positions, cell), cv.evaluate(positions, cell))
    rng = np.random.default_rng(7)
    # Within the skin: moves ≤ 0.17 Å, 0.2 % strain, one atom wrapped to another image.
    near_cell = 1.002 * cell
    near = 1.002 * (positions + rng.uniform(-0.1, 0.1, positions.shape))
    near[2] += near_cell[0] - near_cell[2]
    assert_same_cv(verlet.evaluate(near, near_cell), cv.evaluate(near, near_cell))
    assert verlet.searches == 1
    # Beyond it: one atom moves by 0.8 Å, more than half the skin.
    far = near.copy()
    far[5] += [0.8, 0.0, 0.0]
    assert_same_cv(verlet.evaluate(far, near_cell), cv.evaluate(far, near_cell))
    assert verlet.searches == 2


def test_verlet_list_stays_exact_along_a_random_walk(distorted):
    cv = CoordinationCV.for_atoms(distorted, ["Zn"], ["O"], 2.6)
    verlet = VerletCoordination(cv, skin=0.5)
    positions, cell = distorted.positions.copy(), distorted.cell.array.copy()
    rng = np.random.default_rng(3)
    for _ in range(200):
        positions += rng.normal(scale=0.02, size=positions.shape)
        strain = np.eye(3) + rng.normal(scale=1e-3, size=(3, 3))
        positions, cell = positions @ strain, cell @ strain
        assert_same_cv(verlet.evaluate(positions, cell), cv.evaluate(positions, cell))
    assert 1 < verlet.searches < 100


def test_value_does_not_depend_on_the_supercell():
    small, large = zno_cell("rocksalt"), zno_cell("rocksalt", (3, 3, 3))
    assert coordination_number(small, ["Zn"], ["O"], 2.6) == pytest.approx(coordination_number(large, ["Zn"], ["O"], 2.6), abs=1e-10)


def test_phases_are_ordered_by_coordination():
    cn = {phase: coordination_number(zno_cell(phase), ["Zn"], ["O"], 2.6) for phase in ("wurtzite", "hmgo", "rocksalt", "cscl")}
    assert cn["wurtzite"] < cn["hmgo"] < cn["rocksalt"] < cn["cscl"]
    assert cn["rocksalt"] - cn["wurtzite"] > 1.0
