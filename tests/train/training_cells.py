"""Cells, model settings and fixtures the train tests share (fixtures imported by each test
module: a conftest.py here would shadow tests/conftest.py's helpers on sys.path)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from empirical_labels import buckingham_labelled

from ionnp.config import validate_config
from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.nnp.short_range import ModelSettings
from ionnp.potential import RigidIonPotential
from ionnp.train.targets import pretrain_samples

torch.set_num_threads(1)

ELEMENTS = ("Zn", "O")
MODEL = ModelSettings(
    descriptors=DescriptorSettings(cutoff=4.5, n_radial=16, n_angular_radial=2, n_angles=2),
    hidden_layers=(16, 16), ensemble_size=1,
)

#: Cheaper still, for the tests of the loop's mechanics.
TINY = replace(MODEL, descriptors=DescriptorSettings(cutoff=4.0, n_radial=6, n_angular_radial=2,
                                                     n_angles=2), hidden_layers=(8, 8, 8))


def rattled_cells(n: int, repeat=(2, 2, 1), seed: int = 0) -> list[Atoms]:
    """Strained (±2 %) and rattled (0.1 Å) wurtzite ZnO cells."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat(repeat)
        strain = np.eye(3) + rng.normal(0, 0.02, (3, 3))
        atoms.set_cell(atoms.cell.array @ (0.5 * (strain + strain.T)), scale_atoms=True)
        atoms.rattle(0.1, seed=seed * 1000 + k)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def potential() -> RigidIonPotential:
    return RigidIonPotential.from_config(validate_config({})["potential"])


@pytest.fixture(scope="module")
def frames(potential) -> list[Atoms]:
    return buckingham_labelled(rattled_cells(30), potential)


@pytest.fixture(scope="module")
def small_samples(potential):
    frames = buckingham_labelled(rattled_cells(6, repeat=(1, 1, 1), seed=5), potential)
    return pretrain_samples(frames, ELEMENTS, TINY.descriptors.cutoff)
