"""MD inside LAMMPS (ionnp.lammps.nnp) against independent values: IonnpCalculator's energy,
forces and stress (the same model, Coulomb by torch-pme), ASE's velocity Verlet, and the
energy conservation of NVE."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet

from ionnp.lammps.nnp import PRECISE_COULOMB, LammpsNNP, run_md
from ionnp.nnp.calculator import IonnpCalculator
from ionnp.nnp.potential import NNPotential
from tiny_models import potential, wurtzite

torch.set_num_threads(1)

#: LAMMPS's ``metal`` Coulomb constant, 14.399645 eV Å, lies 3.3e-8 (relative) below
#: CODATA's, which torch-pme uses: E_C ≈ −4 eV/atom at q = 0.9 differs by ~1.5e-7 eV/atom.
#: The Ewald sums themselves agree to ~1e-9 eV/atom (RigidIonPotential, ionnp.charges.coulomb at
#: ε = 1e-12). Hence the tolerances of the comparisons with IonnpCalculator:
ENERGY_TOL = 1e-6  # eV/atom
FORCE_TOL = 5e-7  # eV/Å
STRESS_TOL = 1e-7  # eV/Å³ (1.6e-5 GPa)


def reference(atoms: Atoms, model: NNPotential) -> Atoms:
    out = atoms.copy()
    out.calc = IonnpCalculator(model, spread=False)
    return out


def assert_same_labels(atoms: Atoms, expected: Atoms) -> None:
    n = len(atoms)
    assert atoms.get_potential_energy() / n == pytest.approx(
        expected.get_potential_energy() / n, abs=ENERGY_TOL)
    np.testing.assert_allclose(atoms.get_forces(), expected.get_forces(), rtol=0, atol=FORCE_TOL)
    np.testing.assert_allclose(atoms.get_stress(), expected.get_stress(), rtol=0, atol=STRESS_TOL)


@pytest.mark.parametrize("route", ["pair_style", "fix_external"])
@pytest.mark.parametrize("charge", [0.0, 0.9])
def test_step_zero_equals_ionnp_calculator(charge, route):
    model = potential(charge)
    atoms = wurtzite()
    expected = reference(atoms, model)
    with LammpsNNP(atoms, model, coulomb=PRECISE_COULOMB, route=route) as md:
        snapshot = md.snapshot()
        row = md.run(0).thermo.iloc[0]
    assert_same_labels(snapshot, expected)
    assert snapshot.get_chemical_symbols() == atoms.get_chemical_symbols()
    np.testing.assert_allclose(snapshot.cell.array, atoms.cell.array, atol=1e-12)
    np.testing.assert_allclose(snapshot.get_scaled_positions() % 1.0,
                               atoms.get_scaled_positions() % 1.0, atol=1e-12)
    # No velocities: the thermo pressure is the virial's, −tr σ / 3.
    assert row.kinetic_ev == 0.0
    assert row.potential_ev == pytest.approx(expected.get_potential_energy(), abs=1e-5)
    assert row.pressure_gpa == pytest.approx(-expected.get_stress()[:3].mean() / units.GPa,
                                             abs=STRESS_TOL / units.GPa)
    assert row.volume_a3 == pytest.approx(atoms.get_volume(), rel=1e-12)
    assert row.energy_spread_ev == pytest.approx(expected.calc.results["energy_std"], rel=1e-8)


@pytest.mark.slow
def test_large_triclinic_cell_equals_ionnp_calculator():
    """576 atoms, rattled, sheared and rotated: LAMMPS (precise Ewald; at LAMMPS's usual α its
    polynomial erfc alone leaves 1–3e-6 eV/atom) against IonnpCalculator (torch-pme Ewald at
    ε = 1e-12): 1e-6 eV/atom, 1e-5 eV/Å, 1e-6 eV/Å³ (measured 1.6e-7, 3e-8, 5e-9)."""
    from reference import zno_cell

    atoms = zno_cell("wurtzite", (6, 6, 4))
    cell = atoms.cell.array.copy()
    cell[2] += 0.08 * cell[0] - 0.05 * cell[1]  # triclinic beyond wurtzite's hexagonal angle
    atoms.set_cell(cell, scale_atoms=True)
    atoms.rattle(0.05, seed=7)
    atoms.rotate(23, "y", rotate_cell=True)
    model = potential(0.9)
    expected = reference(atoms, model)
    with LammpsNNP(atoms, model, coulomb=PRECISE_COULOMB) as md:
        snapshot = md.snapshot()
    n = len(atoms)
    assert snapshot.get_potential_energy() / n == pytest.approx(expected.get_potential_energy() / n, abs=1e-6)
    np.testing.assert_allclose(snapshot.get_forces(), expected.get_forces(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(snapshot.get_stress(), expected.get_stress(), rtol=0, atol=1e-6)


def test_nve_follows_ase_velocity_verlet():
    model = potential(0.9)
    atoms = wurtzite()
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    Stationary(atoms)
    ase_atoms = reference(atoms, model)
    VelocityVerlet(ase_atoms, timestep=1.0 * units.fs).run(10)

    result = run_md(atoms, model, 10, 1.0, thermo_every=4, frames_every=5,
                    coulomb=PRECISE_COULOMB)
    thermo, last = result.thermo, result.frames[-1]
    assert thermo.step.tolist() == [0, 4, 8, 10] and len(result.frames) == 3
    np.testing.assert_allclose(thermo.time_ps, thermo.step * 1e-3, rtol=1e-12)
    np.testing.assert_allclose(thermo.total_ev, thermo.potential_ev + thermo.kinetic_ev, rtol=1e-12)
    # LAMMPS wraps atoms into its box: compare positions modulo lattice vectors.
    shift = last.get_scaled_positions(wrap=False) - ase_atoms.get_scaled_positions(wrap=False)
    np.testing.assert_allclose((shift + 0.5) % 1.0 - 0.5, 0.0, atol=1e-8)
    np.testing.assert_allclose(last.get_velocities(), ase_atoms.get_velocities(),
                               rtol=0, atol=1e-6 * np.abs(ase_atoms.get_velocities()).max())
    assert thermo.kinetic_ev.iloc[-1] == pytest.approx(ase_atoms.get_kinetic_energy(), rel=1e-6)
    assert_same_labels(last, ase_atoms)


def test_nve_conserves_energy_with_pppm():
    """Velocity Verlet's energy error is ~(ω Δt)²/8 of the energy exchanged between kinetic
    and potential: 3e-4 at Δt = 0.5 fs for ZnO's highest frequencies (ω ≈ 100 ps⁻¹), and
    halving Δt divides it by ~4. This random model heats the cell from 100 to ~500 K and is
    stiffer in places: 2.5e-4 here, up to 1e-3 with other rattles, hence 2e-3. Forces that
    are not the energy's gradient (a sign, a factor, a missing term) change the total energy
    by as much as the potential energy and do not shrink with Δt. PPPM at 1e-5 leaves a floor
    of ~1e-6 eV/atom, well below the ~1e-5 eV/atom measured."""
    model = potential(0.5)
    atoms = wurtzite()
    spreads = {}
    for timestep in (1.0, 0.5):
        steps = round(40 / timestep)
        thermo = run_md(atoms, model, steps, timestep, temperature_k=100.0,
                        thermo_every=steps // 20).thermo
        spreads[timestep] = np.ptp(thermo.total_ev)
        exchanged = np.ptp(thermo.potential_ev)
        assert exchanged / len(atoms) > 5e-3  # atoms do move
    assert spreads[0.5] < 2e-3 * exchanged
    assert spreads[0.5] < 0.5 * spreads[1.0]


def test_npt_moves_the_box_and_frames_keep_the_input_orientation():
    model = potential(0.5)
    atoms = wurtzite()
    result = run_md(atoms, model, 10, 0.5, ensemble="npt", temperature_k=100.0,
                    pressure_gpa=0.0, barostat_fs=100.0, thermo_every=10, frames_every=10,
                    coulomb=PRECISE_COULOMB)
    thermo, last = result.thermo, result.frames[-1]
    # The model's pressure is negative at this volume: the barostat shrinks the cell.
    assert thermo.pressure_gpa.iloc[0] < -0.1
    assert thermo.volume_a3.iloc[-1] < (1 - 1e-3) * atoms.get_volume()
    assert last.get_volume() == pytest.approx(thermo.volume_a3.iloc[-1], rel=1e-12)
    # Rotated back: each cell vector still points where the input's did.
    new, old = (c / np.linalg.norm(c, axis=1, keepdims=True)
                for c in (last.cell.array, atoms.cell.array))
    assert (new * old).sum(axis=1).min() > 0.999
    assert_same_labels(last, reference(last, model))


def test_callback_errors_surface():
    model = potential(0.0)

    def broken(*args, **kwargs):
        raise FloatingPointError("model failed")

    model.short_range = broken
    with pytest.raises(RuntimeError, match="callback") as info:
        LammpsNNP(wurtzite(), model, route="fix_external")
    assert isinstance(info.value.__cause__, FloatingPointError)


def test_unknown_elements_are_refused():
    atoms = wurtzite()
    atoms[0].symbol = "Mg"
    with pytest.raises(ValueError, match="Mg"):
        LammpsNNP(atoms, potential(0.0))
