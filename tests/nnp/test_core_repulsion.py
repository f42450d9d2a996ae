"""ionnp.nnp.core_repulsion and the model's core term: ZBL forces against LAMMPS's pair_style zbl,
the switch's smoothness, finite-difference forces where the core acts, and a repulsive wall at
1 Å in a model that never saw such a contact."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

from ionnp.lammps.runtime import new_lammps
from ionnp.nnp.calculator import IonnpCalculator
from ionnp.nnp.core_repulsion import pair_core_energy, smooth_step, zbl_energy
from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.nnp.graph import build_graph
from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel
from reference import ZNO

torch.set_num_threads(1)

ELEMENTS = ("Zn", "O")
SETTINGS = ModelSettings(descriptors=DescriptorSettings(cutoff=4.5, n_radial=8, n_angular_radial=2,
                                                        n_angles=2), hidden_layers=(8,), ensemble_size=2)


def lammps_zbl_dimer(r: float, z_a: int, z_b: int) -> float:
    """The force (eV/Å) along the axis on the second atom of a dimer, from LAMMPS pair zbl
    (inner 3 Å, outer 4 Å: below 3 Å LAMMPS adds only a constant to V_ZBL)."""
    lmp = new_lammps()
    for command in ("units metal", "atom_style atomic", "boundary f f f",
                    "region box block -10 10 -10 10 -10 10", "create_box 2 box",
                    "create_atoms 1 single 0 0 0", f"create_atoms 2 single {r!r} 0 0",
                    "mass * 1.0", "pair_style zbl 3.0 4.0", f"pair_coeff 1 1 {z_a} {z_a}",
                    f"pair_coeff 2 2 {z_b} {z_b}", f"pair_coeff 1 2 {z_a} {z_b}", "run 0"):
        lmp.command(command)
    force = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3), shape=(6,)).reshape(2, 3)
    lmp.close()
    return float(force[1, 0])


@pytest.mark.parametrize("r", [0.6, 1.0, 1.5, 2.5])
@pytest.mark.parametrize("z_a, z_b", [(30, 8), (8, 8), (30, 30)])
def test_zbl_force_is_lammps_pair_zbl(r, z_a, z_b):
    distance = torch.tensor(r, dtype=torch.float64, requires_grad=True)
    energy = zbl_energy(distance, torch.tensor(float(z_a)), torch.tensor(float(z_b)))
    (derivative,) = torch.autograd.grad(energy, distance)
    assert float(-derivative) == pytest.approx(lammps_zbl_dimer(r, z_a, z_b), rel=1e-6)


def test_switch_is_smooth_and_ends_at_the_cutoff():
    onset, cutoff = torch.tensor(1.0, dtype=torch.float64), torch.tensor(1.5, dtype=torch.float64)
    r = torch.linspace(0.8, 1.7, 901, dtype=torch.float64, requires_grad=True)
    s = smooth_step(r, onset, cutoff)
    (ds,) = torch.autograd.grad(s.sum(), r, create_graph=True)
    (d2s,) = torch.autograd.grad(ds.sum(), r)
    assert torch.all(s[r <= onset] == 1) and torch.all(s[r >= cutoff] == 0)
    ds, d2s = ds.detach(), d2s.detach()
    assert torch.all(ds <= 0) and float(ds.abs().max()) == pytest.approx(1.875 / 0.5, rel=1e-3)
    # C²: between grid points 1 mÅ apart S'' changes by at most max|S'''|·1 mÅ ≈ 0.5 Å⁻²; a
    # cubic (C¹) step would jump by 6/w² = 24 Å⁻² at both ends.
    assert float(d2s.diff().abs().max()) < 1.0
    z = torch.tensor(30.0), torch.tensor(8.0)
    assert float(pair_core_energy(torch.tensor([1.5, 2.0]), *z, onset, cutoff).abs().max()) == 0.0


def squeezed(distance: float) -> Atoms:
    """Rocksalt ZnO (8 atoms) with one Zn pushed towards an O neighbour to ``distance`` Å."""
    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    zn, o = 0, 1  # Zn at the origin, O at (a/2, 0, 0)
    positions = atoms.positions
    positions[zn] = positions[o] - np.array([distance, 0.0, 0.0])
    atoms.positions = positions
    atoms.rattle(0.02, seed=3)
    return atoms


def model(core_width: float = 0.5) -> NNPotential:
    """A random two-member model normalised on undistorted and rattled rocksalt (Zn–O ≥ 2 Å)."""
    settings = ModelSettings(**{**SETTINGS.__dict__, "core_width": core_width})
    frames = []
    for seed in range(3):
        atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
        atoms.rattle(0.05, seed=seed)
        frames.append(atoms)
    graph = build_graph(frames, ELEMENTS, settings.descriptors.cutoff)
    members = []
    for seed in range(2):
        torch.manual_seed(seed)
        member = ShortRangeModel(ELEMENTS, settings)
        member.fit_normalisation(graph, energies=torch.linspace(-1, 1, len(graph.species)).double())
        members.append(member.double())
    return NNPotential(members, charge=1.0, unit_charges=ZNO.unit_charge)


def test_core_radii_follow_the_shortest_training_contacts():
    member = model().members[0]
    zn_o = float(member.core_cutoff[0, 1])
    assert 1.9 < zn_o < 2.15 and float(member.core_cutoff[1, 0]) == zn_o
    assert float(member.core_onset[0, 1]) == pytest.approx(zn_o - 0.5)
    assert float(model(core_width=0.0).members[0].core_cutoff.abs().max()) == 0.0


@pytest.mark.parametrize("distance", [1.3, 1.75])  # full core, and inside the switch
def test_forces_and_stress_are_finite_differences_where_the_core_acts(distance):
    potential = model()
    potential.coulomb_accuracy = 1e-13
    atoms = squeezed(distance)
    atoms.calc = IonnpCalculator(potential)
    forces, stress = atoms.get_forces(), atoms.get_stress()
    np.testing.assert_allclose(forces, calculate_numerical_forces(atoms, eps=1e-5),
                               rtol=0, atol=1e-6 * np.abs(forces).max())
    # The steep wall's third derivative makes the strain differences' truncation error ~3e-6
    # of the stress here (eps = 1e-5); a wrong virial would be off by order one.
    np.testing.assert_allclose(stress, calculate_numerical_stress(atoms, eps=1e-5),
                               rtol=0, atol=1e-5 * np.abs(stress).max())


def test_two_atoms_at_one_angstrom_repel_strongly():
    """With the core, the pushed Zn is driven away from its O neighbour (+x is away) with the
    ZBL force; without it, this random model at q = 1 has no such wall."""
    atoms = squeezed(1.0)
    with_core = model().predict(atoms)
    zbl_force = float(-torch.func.grad(lambda r: zbl_energy(r, torch.tensor(30.0), torch.tensor(8.0)))(
        torch.tensor(1.0, dtype=torch.float64)))
    assert zbl_force > 50  # eV/Å
    assert -with_core.forces[0, 0] > 0.8 * zbl_force
    without = model(core_width=0.0).predict(atoms)
    assert -without.forces[0, 0] < 0.2 * zbl_force
    assert with_core.energy - without.energy > 10  # eV
