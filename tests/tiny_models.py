"""Small untrained ionnp models and a rattled cell for tests of the machinery around models
(LAMMPS coupling, evaluation): their numbers are compared with another path on the same model,
never with physics."""

from __future__ import annotations

import torch
from ase import Atoms

from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.nnp.graph import build_graph
from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel
from reference import ZNO, zno_cell

ELEMENTS = ("Zn", "O")
SETTINGS = ModelSettings(
    descriptors=DescriptorSettings(cutoff=4.5, n_radial=8, n_angular_radial=2, n_angles=2),
    hidden_layers=(16, 16), ensemble_size=2,
)


def wurtzite(seed: int = 2) -> Atoms:
    """16-atom wurtzite, rattled and rotated away from LAMMPS's lower-triangular frame."""
    atoms = zno_cell("wurtzite", (2, 2, 1))
    atoms.rattle(0.05, seed=seed)
    atoms.rotate(37, "x", rotate_cell=True)
    atoms.rotate(-21, "z", rotate_cell=True)
    return atoms


def potential(charge: float) -> NNPotential:
    """Two randomly initialised float64 members with feature statistics from real cells."""
    graph = build_graph([wurtzite(s) for s in range(3)], ELEMENTS, SETTINGS.descriptors.cutoff)
    members = []
    for seed in range(SETTINGS.ensemble_size):
        torch.manual_seed(seed)
        member = ShortRangeModel(ELEMENTS, SETTINGS)
        member.fit_normalisation(graph, energies=torch.linspace(-1, 1, len(graph.species)).double())
        members.append(member.double())
    model = NNPotential(members, charge, ZNO.unit_charge)
    model.coulomb_accuracy = 1e-12  # the reference's Ewald error well below the tolerances
    return model


