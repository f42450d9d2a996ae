"""Models to train: fresh and normalised, or transferred from a pretrained member (weights and
normalisation kept, optionally shrunk and perturbed, energy shift refitted, layers frozen)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch

from ionnp.nnp.graph import Graph
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel, composition_counts
from ionnp.train.settings import LAYER_NAMES
from ionnp.train.targets import Sample, sample_chunks


def freeze_layers(model: ShortRangeModel, layers: Sequence[str | int]) -> list[str]:
    """Fix the given Linear layers of every element network (``requires_grad = False``).

    Returns the names of the frozen parameters.
    """
    frozen = []
    for element in range(len(model.elements)):
        linears = model.linear_layers(element)
        for layer in layers:
            index = LAYER_NAMES[layer] if isinstance(layer, str) else int(layer)
            for p in linears[index].parameters():
                p.requires_grad_(False)
    names = {id(p): name for name, p in model.named_parameters()}
    frozen = [names[id(p)] for p in model.parameters() if not p.requires_grad]
    return frozen


def scratch_model(elements: Sequence[str], settings: ModelSettings, samples: Sequence[Sample],
                  *, seed: int = 0) -> ShortRangeModel:
    """A fresh model (initialised with ``seed``) normalised on ``samples``: feature mean/std,
    energy shift from per-atom energies where every sample has them, else from the totals."""
    torch.manual_seed(seed)
    model = ShortRangeModel(elements, settings)
    energies = None
    if all(s.targets.energies is not None for s in samples):
        energies = torch.as_tensor(np.concatenate([s.targets.energies for s in samples]))
    energy = torch.tensor([s.targets.energy for s in samples], dtype=torch.float64)
    model.fit_normalisation([s.graph for s in samples], energy=energy, energies=energies)
    return model


@torch.no_grad()
def refit_energy_shift(model: ShortRangeModel, samples: Sequence[Sample], *,
                       max_atoms: int = 4096) -> torch.Tensor:
    """Add to the per-element shift the least-squares correction of the energy offset
    between ``model`` and the samples' targets (fine-tuning starts from an empirical-scale
    model; DFT energies carry another zero). Returns the correction (eV per element)."""
    predicted = torch.cat([model(Graph.collate([s.graph for s in chunk]), forces=False,
                                 stress=False).energy.to(torch.float64)
                           for chunk in sample_chunks(samples, max_atoms)])
    target = torch.tensor([s.targets.energy for s in samples], dtype=torch.float64)
    counts = torch.cat([composition_counts(s.graph, len(model.elements)) for s in samples])
    delta = torch.linalg.pinv(counts) @ (target - predicted)
    model.energy_shift = model.energy_shift + delta
    return delta


@torch.no_grad()
def shrink_perturb(model: ShortRangeModel, shrink: float, perturb: float, *, seed: int = 0) -> None:
    """θ ← shrink·θ + perturb·θ_fresh for every weight and bias of the element networks.

    θ_fresh is a fresh initialisation of the same layers (PyTorch's default, seeded by
    ``seed``). Shrinking a warm start and adding a little fresh noise restores the
    trainability and generalisation that a network fitted to another target loses (Ash &
    Adams, "On warm-starting neural network training", NeurIPS 2020); (1, 0) keeps the
    pretrained weights as they are. Normalisation, energy shift/scale and core repulsion are
    not touched.
    """
    if shrink == 1.0 and perturb == 0.0:
        return
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for element in range(len(model.elements)):
            for layer in model.linear_layers(element):
                fresh = torch.nn.Linear(layer.in_features, layer.out_features,
                                        dtype=layer.weight.dtype)
                layer.weight.mul_(shrink).add_(perturb * fresh.weight)
                layer.bias.mul_(shrink).add_(perturb * fresh.bias)
    finally:
        torch.random.set_rng_state(generator_state)


def finetune_model(pretrained: ShortRangeModel, samples: Sequence[Sample], *,
                   shrink: float = 1.0, perturb: float = 0.0, seed: int = 0) -> ShortRangeModel:
    """A copy of ``pretrained`` (feature normalisation kept; weights shrunk and perturbed by
    :func:`shrink_perturb`, kept as they are by default) with its energy shift refitted to
    ``samples``; freezing follows the training settings in :func:`train`."""
    model = copy.deepcopy(pretrained)
    for p in model.parameters():
        p.requires_grad_(True)
    shrink_perturb(model, shrink, perturb, seed=seed)
    refit_energy_shift(model, samples)
    return model


__all__ = ["finetune_model", "freeze_layers", "refit_energy_shift", "scratch_model", "shrink_perturb"]
