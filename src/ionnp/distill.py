"""Distillation: describe every pool frame, then keep the few worth labelling by FPS.

A structure's feature vector is the per-species mean and standard deviation of the per-atom
symmetry functions the NNP itself uses (:mod:`ionnp.descriptors`: the model sees exactly
these environments, so distance in this space is distance for the model), plus the volume
per atom and the cation fraction, so compression and composition count. Features are
standardised before FPS. The pretraining set is picked from the pool; the DFT set is picked
by FPS within the pretraining set, so every DFT structure also has empirical labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms

from ionnp.descriptors import DescriptorSettings, SymmetryFunctions, neighbor_list
from ionnp.fps import FpsResult, farthest_point_sampling, standardise


def structure_features(frames: Iterable[Atoms], settings: DescriptorSettings,
                       elements: Sequence[str]) -> np.ndarray:
    """Feature matrix, shape (n_frames, 2·len(elements)·n_descriptors + 2)."""
    functions = SymmetryFunctions(settings, elements)
    rows = []
    with torch.no_grad():
        for atoms in frames:
            species = np.array([elements.index(s) for s in atoms.get_chemical_symbols()])
            neighbors = neighbor_list(atoms.positions, atoms.cell.array, settings.cutoff)
            per_atom = functions(torch.as_tensor(atoms.positions), torch.as_tensor(atoms.cell.array),
                                 torch.as_tensor(species), neighbors).numpy()
            stats = []
            for index in range(len(elements)):
                mine = per_atom[species == index]
                if len(mine):
                    stats += [mine.mean(axis=0), mine.std(axis=0)]
                else:
                    stats += [np.zeros(per_atom.shape[1])] * 2
            extra = [atoms.get_volume() / len(atoms), float(np.mean(species == 0))]
            rows.append(np.concatenate(stats + [np.array(extra)]))
    return np.array(rows)


@dataclass(frozen=True)
class Selection:
    """Pool indices of the pretraining and DFT sets, in FPS pick order."""

    pretrain: FpsResult
    dft: FpsResult  # indices into the pool (not into the pretraining set)


def select(features: np.ndarray, n_pretrain: int, n_dft: int) -> Selection:
    """FPS of ``n_pretrain`` frames from the pool, then ``n_dft`` of those for DFT.

    Raises:
        ValueError: n_dft > n_pretrain, or more frames asked for than the pool holds.
    """
    if n_dft > n_pretrain:
        raise ValueError(f"n_dft = {n_dft} exceeds n_pretrain = {n_pretrain}")
    scaled = standardise(features)
    pretrain = farthest_point_sampling(scaled, n_pretrain)
    within = farthest_point_sampling(scaled[pretrain.indices], n_dft)
    return Selection(pretrain, FpsResult(pretrain.indices[within.indices], within.distances))


def shards(indices: Sequence[int], shard_size: int, n_shards: int) -> list[list[int]]:
    """Split ``indices`` into ``n_shards`` consecutive shards of at most ``shard_size``."""
    chunks = [list(indices[k * shard_size:(k + 1) * shard_size]) for k in range(n_shards)]
    if sum(map(len, chunks)) != len(indices):
        raise ValueError(f"{len(indices)} structures do not fit {n_shards} shards of {shard_size}")
    return chunks
