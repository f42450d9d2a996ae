"""The unseen-loading cells and their errors: strain conventions against the empirical potential's
energy derivative (LAMMPS), metrics against errors put in by hand, the spread's rank correlation
against orderings known in advance."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import GPa

from ionnp.config import ConfigError, load_config
from ionnp.evaluate.loading import (LoadingPath, loading_cells, loading_errors, rank_correlations,
                                    spread_and_error, strained_cell, stress_strain_table)
from ionnp.lammps.empirical import LammpsCell, evaluate
from ionnp.nnp.prediction import Prediction
from ionnp.prototypes.polymorphs import relax
from ionnp.voigt import from_voigt, to_voigt
from reference import zno_cell

REPO = Path(__file__).resolve().parents[2]

TENSILE_Z = LoadingPath.from_config("tensile_z", [0, 0, 1, 0, 0, 0])
SHEAR_XZ = LoadingPath.from_config("shear_xz", [0, 0, 0, 0, 1, 0])
# (a path along which no pair crosses the Buckingham cut-off near s = 0.06: the truncated C/r⁶
# tail makes the energy jump there, and the central difference with it)
MIXED = LoadingPath.from_config("mixed", [1, 0, 0.5, 0, -0.4, 0])


@pytest.fixture(scope="module")
def wurtzite(potential):
    return relax(zno_cell("wurtzite"), "wurtzite", 0.0, potential)


def test_voigt_round_trip():
    vector = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    tensor = from_voigt(vector)
    assert np.array_equal(tensor, tensor.T)
    assert tensor[0, 2] == 5.0 and tensor[0, 1] == 6.0 and tensor[1, 2] == 4.0
    assert np.array_equal(to_voigt(tensor), vector)


def test_the_cells_carry_the_paths_strain(wurtzite):
    """Green-Lagrange strain of the deformed cell, ½(FᵀF − 1) from the two cells alone, is the
    path's strain to first order; tension along z stretches c by 1 + s, symmetric shear changes
    the volume by det F = 1 − s²."""
    for path in (TENSILE_Z, SHEAR_XZ, MIXED):
        strained = strained_cell(wurtzite, path, 0.01)
        deformation = np.linalg.solve(wurtzite.cell.array, strained.cell.array).T
        green = 0.5 * (deformation.T @ deformation - np.eye(3))
        np.testing.assert_allclose(green, 0.01 * from_voigt(path.direction), atol=1e-4)
        np.testing.assert_allclose(strained.get_scaled_positions(), wurtzite.get_scaled_positions(), atol=1e-12)
    stretched = strained_cell(wurtzite, TENSILE_Z, 0.05)
    assert stretched.cell.lengths()[2] == pytest.approx(1.05 * wurtzite.cell.lengths()[2], rel=1e-12)
    assert strained_cell(wurtzite, SHEAR_XZ, 0.05).get_volume() == pytest.approx(
        (1 - 0.05**2) * wurtzite.get_volume(), rel=1e-12)


@pytest.mark.parametrize("path", [TENSILE_Z, SHEAR_XZ, MIXED], ids=lambda p: p.name)
def test_stress_along_the_path_is_the_energy_derivative(wurtzite, potential, path):
    """dE/ds along F(s) = 1 + s ε(d), at fixed fractional coordinates, equals
    V σ : (ε(d) F⁻¹) (ASE's stress sign, LAMMPS's virial), by central differences at s = 0.06."""
    s, h = 0.06, 1e-4
    energy = [evaluate(strained_cell(wurtzite, path, s + d), potential).energy for d in (-h, h)]
    cell = strained_cell(wurtzite, path, s)
    stress = from_voigt(evaluate(cell, potential).stress)
    rate = from_voigt(path.direction) @ np.linalg.inv(path.deformation(s))
    assert (energy[1] - energy[0]) / (2 * h) == pytest.approx(
        cell.get_volume() * np.sum(stress * rate), rel=1e-5)
    # the stress along a path: σ_zz in tension along z, σ_xz in xz shear
    stress = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert TENSILE_Z.stress_along(stress) == 3.0 and SHEAR_XZ.stress_along(stress) == 5.0


def test_positions_relax_at_the_fixed_cell(wurtzite, potential):
    strained = strained_cell(wurtzite, TENSILE_Z, 0.08)
    strained.rattle(0.05, seed=1)
    with LammpsCell(strained, potential) as cell:
        relaxed = cell.relax_positions(force_tolerance=1e-4)
    before = evaluate(strained, potential)
    strained.positions = relaxed
    after = evaluate(strained, potential)
    assert np.abs(after.forces).max() < 1e-3 < np.abs(before.forces).max()
    assert after.energy < before.energy


def test_loading_cells_are_relaxed_rattled_labelled_and_reproducible(wurtzite, potential):
    strains = [0.03, 0.09]
    cells = loading_cells(wurtzite, "wurtzite", [TENSILE_Z, SHEAR_XZ], strains, potential, rattle=0.04, seed=3)
    assert [(a.info["loading_path"], a.info["strain"]) for a in cells] == [
        ("tensile_z", 0.03), ("tensile_z", 0.09), ("shear_xz", 0.03), ("shear_xz", 0.09)]
    assert len({a.info["structure_id"] for a in cells}) == 4
    for atoms in cells:
        labels = evaluate(atoms, potential)
        assert atoms.get_potential_energy() == pytest.approx(labels.energy, abs=1e-9)
        np.testing.assert_allclose(atoms.get_stress(), labels.stress, atol=1e-9)
        # the rattle sets the forces: a relaxed cell has none, a 0.04 Å rattle ~ eV/Å
        assert 0.1 < np.abs(atoms.get_forces()).max() < 10
        path = {"tensile_z": TENSILE_Z, "shear_xz": SHEAR_XZ}[atoms.info["loading_path"]]
        assert np.allclose(atoms.cell.array, strained_cell(wurtzite, path, atoms.info["strain"]).cell.array)
    again = loading_cells(wurtzite, "wurtzite", [TENSILE_Z, SHEAR_XZ], strains, potential, rattle=0.04, seed=3)
    for a, b in zip(cells, again):
        assert np.array_equal(a.positions, b.positions)
    tensile = [a.get_stress() for a in cells[:2]]
    assert 0 < tensile[0][2] < tensile[1][2], "tension along z pulls back harder at larger strain"


def _labelled(atoms, energy, forces, stress):
    atoms = atoms.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
    return atoms


def test_errors_per_path_and_strain_are_the_errors_put_in():
    """A variant off by 2 meV/atom, 30 meV/Å on one component and 0.1 GPa on one stress
    component, everywhere: its MAE and RMSE say exactly that, in every group."""
    frames = []
    for k, (path, strain) in enumerate([("tensile_z", 0.02), ("tensile_z", 0.05), ("shear_xz", 0.02)]):
        atoms = _labelled(zno_cell("rocksalt"), -3.0 * k, np.zeros((8, 3)), np.zeros(6))
        atoms.info.update(phase="rocksalt", loading_path=path, strain=strain)
        frames.append(atoms)
    forces = np.zeros((8, 3))
    forces[:, 0] = 0.03
    stress = np.array([0.1 * GPa, 0, 0, 0, 0, 0])
    variant = ([a.get_potential_energy() + 0.002 * len(a) for a in frames], [forces] * 3, [stress] * 3)
    table = loading_errors(frames, {"shifted": variant})
    assert set(table.value) == {"all", "rocksalt tensile_z", "rocksalt shear_xz", "rocksalt tensile_z 0.02",
                                "rocksalt tensile_z 0.05", "rocksalt shear_xz 0.02"}
    np.testing.assert_allclose(table.energy_mae_mev_per_atom, 2.0)
    np.testing.assert_allclose(table.force_mae_mev_per_a, 10.0)      # one component of three
    np.testing.assert_allclose(table.force_rmse_mev_per_a, 30.0 / np.sqrt(3))
    np.testing.assert_allclose(table.stress_mae_gpa, 0.1 / 6)
    curves = stress_strain_table(frames, {"shifted": variant}, [TENSILE_Z, SHEAR_XZ])
    assert len(curves) == 6 and set(curves.variant) == {"DFT", "shifted"}
    np.testing.assert_allclose(curves[curves.variant == "DFT"].stress_gpa, 0.0)
    np.testing.assert_allclose(curves[curves.variant == "shifted"].stress_gpa, 0.0, atol=1e-12)


def test_rank_correlation_of_spread_and_error():
    frames, predictions = [], []
    for k in range(6):
        atoms = _labelled(zno_cell("rocksalt"), 0.0, np.zeros((8, 3)), np.zeros(6))
        frames.append(atoms)
        error = 0.001 * (k + 1)
        predictions.append(Prediction(energy=8 * error, energies=np.zeros(8), forces=np.full((8, 3), error),
                                      stress=np.zeros(6), energy_std=8 * 0.5 * error,
                                      forces_std=np.full((8, 3), 0.2 * (6 - k) * 1e-3)))
    table = spread_and_error(frames, predictions)
    np.testing.assert_allclose(table.energy_error_mev_per_atom, np.arange(1, 7))
    np.testing.assert_allclose(table.energy_spread_mev_per_atom, 0.5 * np.arange(1, 7))
    np.testing.assert_allclose(table.force_error_mev_per_a, np.arange(1, 7))
    rho = rank_correlations(pd.concat([table.assign(set="test"), table.head(2).assign(set="few")]))
    test = rho.set_index("set").loc["test"]
    assert test.energy_spearman == pytest.approx(1.0) and test.force_spearman == pytest.approx(-1.0)
    assert np.isnan(rho.set_index("set").loc["few"].energy_spearman)


def test_bad_loading_input_is_refused_naming_the_key():
    config = REPO / "config" / "config.yaml"
    with pytest.raises(ConfigError, match=r"loading\.paths\.flat: a Voigt strain direction"):
        load_config(config, overrides={"loading": {"paths": {"flat": [0, 0, 0, 0, 0, 0]}}})
    with pytest.raises(ConfigError, match=r"loading\.strains"):
        load_config(config, overrides={"loading": {"strains": []}})
    with pytest.raises(ConfigError, match=r"loading\.phases: \['corundum'\]"):
        load_config(config, overrides={"loading": {"phases": ["corundum"]}})
    with pytest.raises(ConfigError, match=r"loading\.supercell: \['corundum'\]"):
        load_config(config, overrides={"loading": {"supercell": {"corundum": [2, 2, 2]}}})
    paths = load_config(config, overrides={"loading": {"paths": {"shear_xy": [0, 0, 0, 0, 0, 1]}}})["loading"]["paths"]
    assert list(paths) == ["shear_xy"], "a campaign's paths replace the default's"
