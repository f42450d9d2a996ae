"""IonnpCalculator: ASE's own finite differences of the energy, the ensemble spread in results,
model files, and a few steps of MD and of a relaxation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import units
from ase.build import bulk
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress
from ase.md.velocitydistribution import thermalize_momenta
from ase.md.verlet import VelocityVerlet
from ase.optimize import BFGS

from ionnp.nnp.calculator import IonnpCalculator
from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.nnp.graph import build_graph
from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel
from reference import ZNO

torch.set_num_threads(1)

ELEMENTS = ("Zn", "O")
SETTINGS = ModelSettings(
    descriptors=DescriptorSettings(cutoff=4.5, n_radial=8, n_angular_radial=2, n_angles=2),
    hidden_layers=(16, 16), ensemble_size=2,
)


def wurtzite(seed: int = 1):
    atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat((2, 1, 1))
    cell = atoms.cell.array.copy()
    cell[2] += 0.2 * cell[0]
    atoms.set_cell(cell, scale_atoms=True)
    atoms.rattle(0.1, seed=seed)
    return atoms


def potential(charge: float, dtype: torch.dtype = torch.float64) -> NNPotential:
    members = []
    graph = build_graph([wurtzite(s) for s in range(3)], ELEMENTS, SETTINGS.descriptors.cutoff)
    for seed in range(SETTINGS.ensemble_size):
        torch.manual_seed(seed)
        member = ShortRangeModel(ELEMENTS, SETTINGS)
        member.fit_normalisation(graph, energies=torch.linspace(-1, 1, len(graph.species)).double())
        members.append(member.to(dtype))
    return NNPotential(members, charge, ZNO.unit_charge)


@pytest.mark.parametrize("charge", [0.0, 0.9])
def test_forces_and_stress_are_ase_finite_differences(charge):
    model = potential(charge)
    model.coulomb_accuracy = 1e-13  # the Ewald parameters follow the cell: keep their noise low
    atoms = wurtzite()
    atoms.calc = IonnpCalculator(model)
    forces, stress = atoms.get_forces(), atoms.get_stress()
    numeric_forces = calculate_numerical_forces(atoms, eps=1e-5)
    numeric_stress = calculate_numerical_stress(atoms, eps=1e-5)
    np.testing.assert_allclose(forces, numeric_forces, rtol=0, atol=1e-6 * np.abs(forces).max())
    np.testing.assert_allclose(stress, numeric_stress, rtol=0, atol=1e-6 * np.abs(stress).max())


def test_results_and_model_files(tmp_path):
    model = potential(0.8, torch.float32)
    path = tmp_path / "model.pt"
    model.save(path)
    atoms = wurtzite()
    from_file = IonnpCalculator(path)
    atoms.calc = from_file
    energy = atoms.get_potential_energy()
    assert energy == pytest.approx(model.predict(atoms).energy, rel=1e-12)
    results = from_file.results
    assert set(IonnpCalculator.implemented_properties) <= set(results)
    assert results["energies"].sum() == pytest.approx(energy, rel=1e-10)
    assert results["short_range_energy"] + results["coulomb_energy"] == pytest.approx(energy)
    assert results["energy_std"] > 0 and results["forces_std"].shape == (len(atoms), 3)
    assert atoms.get_potential_energies().shape == (len(atoms),)
    fast = IonnpCalculator(model, spread=False)
    fast.calculate(atoms, ["energy", "forces"])
    assert "forces_std" not in fast.results and fast.results["energy_std"] > 0
    np.testing.assert_allclose(fast.results["forces"], atoms.get_forces(), atol=1e-5)


def test_threads_setting_is_restored():
    before = torch.get_num_threads()
    atoms = wurtzite()
    atoms.calc = IonnpCalculator(potential(0.0, torch.float32), threads=1)
    atoms.get_potential_energy()
    assert torch.get_num_threads() == before


def test_open_cells_are_refused():
    atoms = wurtzite()
    atoms.pbc = [True, True, False]
    atoms.calc = IonnpCalculator(potential(0.0, torch.float32))
    with pytest.raises(ValueError, match="periodic"):
        atoms.get_potential_energy()


def test_md_conserves_energy_and_relaxation_lowers_it():
    model = potential(0.8, torch.float32)
    atoms = wurtzite()
    atoms.calc = IonnpCalculator(model, spread=False)
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    dynamics = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    totals = []
    dynamics.attach(lambda: totals.append(atoms.get_total_energy()), interval=1)
    dynamics.run(8)
    assert len(totals) == 9 and np.isfinite(totals).all()
    assert np.ptp(totals) < 0.05 * 3 * len(atoms) * units.kB * 300 + 1e-3
    relaxed = wurtzite(2)
    relaxed.calc = IonnpCalculator(model, spread=False)
    start = relaxed.get_potential_energy()
    # Short steps: a random network pulls atoms together until they meet the core repulsion,
    # whose wall a 0.2 Å BFGS step (the default) overshoots.
    BFGS(relaxed, logfile=None, maxstep=0.05).run(fmax=1e-3, steps=5)
    assert relaxed.get_potential_energy() < start - 1e-3
