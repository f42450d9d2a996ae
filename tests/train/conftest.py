"""Fixtures of the train tests: the default empirical potential and cells labelled with it
(computed once per session)."""

from __future__ import annotations

import pytest
import torch
from ase import Atoms
from empirical_labels import buckingham_labelled
from training_cells import ELEMENTS, TINY, rattled_cells

from ionnp.config import validate_config
from ionnp.potential import RigidIonPotential
from ionnp.train.targets import pretrain_samples

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def potential() -> RigidIonPotential:
    return RigidIonPotential.from_config(validate_config({})["potential"])


@pytest.fixture(scope="session")
def frames(potential) -> list[Atoms]:
    return buckingham_labelled(rattled_cells(30), potential)


@pytest.fixture(scope="session")
def small_samples(potential):
    frames = buckingham_labelled(rattled_cells(6, repeat=(1, 1, 1), seed=5), potential)
    return pretrain_samples(frames, ELEMENTS, TINY.descriptors.cutoff)
