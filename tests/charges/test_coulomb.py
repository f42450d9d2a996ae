"""ionnp.charges.coulomb against independent values: Madelung constants, finite differences, a numpy
Ewald sum, the exact q² scaling, and Ewald against PME."""

import numpy as np
import pytest
import torch
import torchpme
from ase import Atoms
from ase.build import bulk

import reference
from ionnp.charges.coulomb import CoulombResult, coulomb
from reference import ZNO, ewald_energy, position_derivative, strain_derivative

K_E = torchpme.prefactors.eV_A


@pytest.mark.parametrize("cubic", [False, True])
@pytest.mark.parametrize(
    "structure, a, madelung",
    [("rocksalt", 4.3, 1.747565), ("cesiumchloride", 3.1, 1.762675), ("zincblende", 5.4, 1.638055)],
)
def test_madelung_constants(structure, a, madelung, cubic):
    atoms = bulk("NaCl", structure, a=a, cubic=cubic)
    result = coulomb(atoms, {"Na": 1.0, "Cl": -1.0})
    nn = min(atoms.get_distances(0, range(1, len(atoms)), mic=True))
    energy_per_pair = result.energy / (len(atoms) / 2)
    assert -energy_per_pair * nn / K_E == pytest.approx(madelung, abs=1e-6)
    # E is homogeneous of degree −1 in the lengths: σ = −E/(3V) 𝟙, no shear, zero forces.
    expected = np.array([1, 1, 1, 0, 0, 0]) * -result.energy / (3 * atoms.get_volume())
    np.testing.assert_allclose(result.stress, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(result.forces, 0, atol=1e-7)


def test_float32_matches_float64():
    atoms = bulk("NaCl", "rocksalt", a=4.3)
    single = coulomb(atoms, {"Na": 1.0, "Cl": -1.0}, dtype=torch.float32)
    double = coulomb(atoms, {"Na": 1.0, "Cl": -1.0})
    assert single.energy == pytest.approx(double.energy, rel=1e-5)


@pytest.fixture(scope="module")
def sheared_wurtzite() -> tuple[Atoms, np.ndarray]:
    atoms = reference.sheared_wurtzite()
    return atoms, ZNO.unit_charges(atoms)


def test_forces_are_finite_differences(sheared_wurtzite):
    atoms, q = sheared_wurtzite
    result = coulomb(atoms, q, accuracy=1e-12)
    numeric = position_derivative(lambda moved: coulomb(moved, q, accuracy=1e-12).energy, atoms, 1e-4)
    np.testing.assert_allclose(result.forces, numeric, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(result.forces.sum(axis=0), 0, atol=1e-9)


def test_stress_is_strain_derivative(sheared_wurtzite):
    atoms, q = sheared_wurtzite
    result = coulomb(atoms, q, accuracy=1e-12)
    numeric = strain_derivative(lambda strained: coulomb(strained, q, accuracy=1e-12).energy, atoms)
    np.testing.assert_allclose(result.stress, numeric, rtol=1e-6, atol=1e-7)


def test_triclinic_cell_matches_numpy_ewald():
    rng = np.random.default_rng(7)
    cell = np.array([[5.1, 0.0, 0.0], [1.7, 4.6, 0.0], [-1.2, 0.9, 5.3]])
    positions = rng.random((7, 3)) @ cell + rng.normal(scale=2.0, size=(7, 3))
    charges = rng.normal(size=7)
    charges -= charges.mean()
    atoms = Atoms("Zn4O3", positions=positions, cell=cell, pbc=True)
    expected = ewald_energy(positions, cell, charges, coulomb_constant=K_E)
    assert coulomb(atoms, charges).energy == pytest.approx(expected, abs=1e-6)


def test_charge_scan_is_q_squared(sheared_wurtzite):
    atoms, q = sheared_wurtzite
    unit = coulomb(atoms, q)
    scaled = coulomb(atoms, 0.7 * q)
    for result in (scaled, unit.scaled(0.7)):
        assert isinstance(result, CoulombResult)
        assert result.energy == pytest.approx(0.49 * unit.energy, rel=1e-12)
        np.testing.assert_allclose(result.forces, 0.49 * unit.forces, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(result.stress, 0.49 * unit.stress, rtol=1e-10, atol=1e-14)


def test_charges_per_element_or_per_atom(sheared_wurtzite):
    atoms, q = sheared_wurtzite
    by_element = coulomb(atoms, {"Zn": 2.0, "O": -2.0})
    by_atom = coulomb(atoms, 2 * q)
    assert by_element.energy == by_atom.energy
    assert coulomb(atoms, q, method="auto").energy == coulomb(atoms, q, method="ewald").energy


@pytest.mark.slow
def test_pme_agrees_with_ewald():
    atoms = bulk("ZnO", "rocksalt", a=4.28, cubic=True).repeat(5)
    atoms.rattle(0.05, seed=0)
    q = ZNO.unit_charges(atoms)
    ewald = coulomb(atoms, q, method="ewald")
    pme = coulomb(atoms, q, method="pme")
    # Documented for the default accuracy: |ΔE|/N ≤ 2e-8 eV, |ΔF| ≤ 1.3e-6 eV/Å, |Δσ| ≤ 2e-8 eV/Å³
    # (PME's error; Ewald's is smaller), each with headroom.
    assert len(atoms) == 1000
    assert abs(pme.energy - ewald.energy) / len(atoms) < 1e-7
    np.testing.assert_allclose(pme.forces, ewald.forces, atol=1e-5)
    np.testing.assert_allclose(pme.stress, ewald.stress, atol=1e-7)


def test_charged_cell_is_refused():
    atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2)
    with pytest.raises(ValueError, match="Zn2O2"):
        coulomb(atoms, {"Zn": 1.0, "O": -0.9})


def test_unknown_method_is_refused():
    atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2)
    with pytest.raises(ValueError, match="method"):
        coulomb(atoms, ZNO.unit_charges(atoms), method="p3m")


def test_results_round_trip(tmp_path):
    from ase.build import bulk

    from ionnp.charges.coulomb import coulomb, read_results, write_results

    cells = [bulk("ZnO", "rocksalt", a=4.3), bulk("ZnO", "rocksalt", a=4.3, cubic=True)]
    cells[1].rattle(0.05, seed=1)
    results = [coulomb(a, ZNO.unit_charges(a)) for a in cells]
    write_results(tmp_path / "c.npz", results)
    back = read_results(tmp_path / "c.npz")
    for a, b in zip(results, back):
        assert a.energy == b.energy
        np.testing.assert_array_equal(a.forces, b.forces)
        np.testing.assert_array_equal(a.stress, b.stress)
