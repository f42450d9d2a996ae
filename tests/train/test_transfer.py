"""ionnp.train.transfer: shrink and perturb, and the refitted energy shift."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from ase import Atoms
from training_cells import (
    ELEMENTS,
    TINY,
    small_samples,  # noqa: F401 (fixtures)
)

from ionnp.train.settings import TrainingSettings
from ionnp.train.transfer import (
    finetune_model,
    refit_energy_shift,
    scratch_model,
)


def test_shrink_perturb_mixes_the_start_with_a_fresh_initialisation(small_samples):
    pretrained = scratch_model(ELEMENTS, TINY, small_samples, seed=0)
    torch.manual_seed(11)  # the fresh layers, drawn in the order of the model's Linear layers
    fresh = [torch.nn.Linear(layer.in_features, layer.out_features)
             for e in range(len(ELEMENTS)) for layer in pretrained.linear_layers(e)]
    torch.manual_seed(3)
    outside = torch.rand(())  # the caller's random stream continues as if nothing was drawn
    torch.manual_seed(3)
    model = finetune_model(pretrained, small_samples, shrink=0.4, perturb=0.1, seed=11)
    assert torch.rand(()) == outside
    moved = [layer for e in range(len(ELEMENTS)) for layer in model.linear_layers(e)]
    start = [layer for e in range(len(ELEMENTS)) for layer in pretrained.linear_layers(e)]
    for new, old, noise in zip(moved, start, fresh, strict=True):
        torch.testing.assert_close(new.weight, 0.4 * old.weight + 0.1 * noise.weight)
        torch.testing.assert_close(new.bias, 0.4 * old.bias + 0.1 * noise.bias)
    for name in ("feature_mean", "feature_std", "energy_scale", "core_cutoff"):
        assert torch.equal(getattr(model, name), getattr(pretrained, name)), name
    # the energy shift is refitted to the samples after the weights moved
    predicted = np.array([p.energy for p in model.predict_many([_atoms_of(s) for s in small_samples])])
    target = np.array([s.targets.energy for s in small_samples])
    assert abs(np.mean(predicted - target)) < 1e-6
    kept = finetune_model(pretrained, small_samples)
    for a, b in zip(kept.parameters(), pretrained.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="shrink"):
        TrainingSettings(shrink=0.0)
    with pytest.raises(ValueError, match="train.pretrain"):
        TrainingSettings.from_config({"shrink": 0.5})

def test_refit_energy_shift_absorbs_an_offset(small_samples):
    model = scratch_model(ELEMENTS, TINY, small_samples, seed=0)
    other = finetune_model(model, small_samples)  # refitted to the samples as they are
    before = other.predict_many([_atoms_of(s) for s in small_samples])
    shifted = [replace(s, targets=replace(s.targets, energy=s.targets.energy - 1000.0 * len(s.graph.positions)))
               for s in small_samples]
    delta = refit_energy_shift(other, shifted)
    # Least squares are linear in the targets: −1000 eV per atom of either element.
    np.testing.assert_allclose(delta.numpy(), [-1000.0, -1000.0], atol=1e-6)
    after = other.predict_many([_atoms_of(s) for s in small_samples])
    for a, b, s in zip(before, after, small_samples):
        assert b.energy - a.energy == pytest.approx(-1000.0 * len(s.graph.positions), abs=1e-6)
        np.testing.assert_array_equal(a.forces, b.forces)

def _atoms_of(sample) -> Atoms:
    g = sample.graph
    symbols = [ELEMENTS[k] for k in g.species.tolist()]
    return Atoms(symbols, positions=g.positions.numpy(), cell=g.cells[0].numpy(), pbc=True)
