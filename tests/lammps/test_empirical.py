"""LAMMPS labels against an independent numpy Ewald + pair sum and finite differences."""

import numpy as np
import pytest
from ase import Atoms

from ionnp.lammps.empirical import evaluate
from reference import buckingham_energy, ewald_energy, zno_cell


def _distorted_wurtzite() -> Atoms:
    """A 2×1×1 wurtzite cell, rattled, sheared and rotated away from LAMMPS's frame."""
    atoms = zno_cell("wurtzite", (2, 1, 1))
    rng = np.random.default_rng(7)
    atoms.positions += rng.normal(scale=0.08, size=atoms.positions.shape)
    strain = np.eye(3) + rng.normal(scale=0.02, size=(3, 3))
    atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    atoms.rotate(37, "x", rotate_cell=True)
    atoms.rotate(-21, "z", rotate_cell=True)
    return atoms


@pytest.fixture(scope="module")
def atoms() -> Atoms:
    return _distorted_wurtzite()


def _pair_params(potential):
    return {pair: (p.A, p.rho, p.C) for pair, p in potential.pairs.items()}


def test_energy_equals_numpy_pair_sum_plus_ewald(atoms, potential):
    charges = np.array([potential.charges[s] for s in atoms.get_chemical_symbols()])
    ewald = ewald_energy(atoms.positions, atoms.cell.array, charges)
    buck = buckingham_energy(atoms.positions, atoms.cell.array, atoms.get_chemical_symbols(),
                             _pair_params(potential), potential.cutoff)
    total = evaluate(atoms, potential).energy
    assert abs(total - (buck + ewald)) / len(atoms) < 1e-6
    buck_only = evaluate(atoms, potential, coulomb=False).energy
    assert abs(buck_only - buck) / len(atoms) < 1e-9


@pytest.mark.parametrize("coulomb", [True, False])
def test_forces_are_minus_energy_gradient(atoms, potential, coulomb):
    forces = evaluate(atoms, potential, coulomb=coulomb).forces
    h = 1e-4
    for i, k in [(0, 0), (3, 1), (5, 2), (6, 0)]:
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[i, k] += sign * h
            energies.append(evaluate(moved, potential, coulomb=coulomb).energy)
        assert forces[i, k] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=1e-5)
    assert np.abs(forces.sum(axis=0)).max() < 1e-6


@pytest.mark.parametrize("coulomb", [True, False])
def test_stress_is_strain_derivative(atoms, potential, coulomb):
    """σ_ab = (1/V) ∂E/∂ε_ab with ASE's sign (positive under tension)."""
    stress = evaluate(atoms, potential, coulomb=coulomb).stress
    voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    h = 1e-5
    for index, (a, b) in enumerate(voigt):
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[a, b] += sign * h / (2 if a != b else 1)
            strain[b, a] += sign * h / 2 if a != b else 0
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ strain, scale_atoms=True)
            energies.append(evaluate(strained, potential, coulomb=coulomb).energy)
        numeric = (energies[0] - energies[1]) / (2 * h) / atoms.get_volume()
        assert stress[index] == pytest.approx(numeric, abs=1e-6)


def test_per_atom_buckingham_energies_are_half_pair_sums(atoms, potential):
    """Each atom gets ½ Σ_j φ(r_ij), from an independent numpy pair sum per atom."""
    labels = evaluate(atoms, potential, coulomb=False)
    params = _pair_params(potential)
    symbols = atoms.get_chemical_symbols()
    for i in (0, 5):
        single = buckingham_energy(atoms.positions, atoms.cell.array, symbols, params,
                                   potential.cutoff, only_atom=i)
        assert labels.energies[i] == pytest.approx(single, abs=1e-9)
    assert labels.energies.sum() == pytest.approx(labels.energy, abs=1e-8)


def test_total_is_buckingham_plus_coulomb(atoms, potential):
    from dataclasses import replace

    total = evaluate(atoms, potential)
    buck = evaluate(atoms, potential, coulomb=False)
    coul = evaluate(atoms, replace(potential, pairs={}))
    assert total.energy == pytest.approx(buck.energy + coul.energy, abs=1e-8)
    np.testing.assert_allclose(total.forces, buck.forces + coul.forces, atol=1e-8)
    np.testing.assert_allclose(total.stress, buck.stress + coul.stress, atol=1e-10)
    np.testing.assert_allclose(total.energies.sum(), total.energy, atol=1e-7)
