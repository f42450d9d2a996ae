"""Distillation: keep the few structures worth labelling.

Structures are compared by their features (:mod:`ionnp.distill.features`), standardised
before farthest-point sampling (FPS, :mod:`ionnp.distill.fps`). The pretraining set is picked
from the pool by FPS; the DFT set is picked within the pretraining set, so every DFT structure
also has empirical labels:

- ``fps``: FPS over the whole pretraining set. With a small budget FPS takes the extremes first
  (the hottest, most compressed frames of the highest-pressure runs).
- ``stratified``: the budget is spread evenly over the strata (phase, T, P of the run), and
  inside each stratum FPS starts from its most typical frame; frames beyond the caps on the
  instantaneous virial pressure and on the shortest interatomic distance are not sent to DFT
  (the pretraining set keeps them: empirical labels are cheap and teach the repulsion).
- ``active``: a stratified seed grown round by round with the frames a model trained on the
  empirical labels predicts worst (:mod:`ionnp.distill.active`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms

from ionnp.distill.fps import FpsResult, farthest_point_sampling, standardise
from ionnp.nnp.descriptors import neighbor_list


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


def allocate(budget: int, available: Sequence[int]) -> list[int]:
    """Spread ``budget`` picks over strata holding ``available`` candidates each: as evenly as
    possible (water filling), never more than a stratum holds, earlier strata first on ties.

    Raises:
        ValueError: the strata hold fewer candidates than the budget.
    """
    if budget > sum(available):
        raise ValueError(f"{budget} structures asked for, but the strata hold only {sum(available)} "
                         "that pass the caps")
    counts = [0] * len(available)
    left = budget
    while left:
        open_strata = [k for k, n in enumerate(available) if counts[k] < n]
        share = max(left // len(open_strata), 1)
        for k in open_strata:
            take = min(share, available[k] - counts[k], left)
            counts[k] += take
            left -= take
            if not left:
                break
    return counts


def select_stratified(features: np.ndarray, strata: Sequence[Hashable], eligible: np.ndarray,
                      n_pretrain: int, n_dft: int) -> Selection:
    """FPS of ``n_pretrain`` pool frames, then ``n_dft`` DFT frames among the pretraining frames
    that are ``eligible`` (bool per pool frame), spread over ``strata`` (one label per pool
    frame) by :func:`allocate`, FPS from the most typical frame inside each stratum.

    The DFT picks come stratum by stratum (strata in sorted order); ``distances`` are the
    max–min distances inside their stratum.
    """
    if n_dft > n_pretrain:
        raise ValueError(f"n_dft = {n_dft} exceeds n_pretrain = {n_pretrain}")
    scaled = standardise(features)
    pretrain = farthest_point_sampling(scaled, n_pretrain)
    groups: dict[Hashable, list[int]] = {}
    for index in pretrain.indices:
        if eligible[index]:
            groups.setdefault(strata[index], []).append(int(index))
    names = sorted(groups, key=str)
    counts = allocate(n_dft, [len(groups[name]) for name in names])
    indices, distances = [], []
    for name, count in zip(names, counts):
        if count == 0:
            continue
        members = np.array(groups[name])
        picked = farthest_point_sampling(scaled[members], count, central_first=True)
        indices.append(members[picked.indices])
        distances.append(picked.distances)
    return Selection(pretrain, FpsResult(np.concatenate(indices), np.concatenate(distances)))


def strata(frames: Sequence[Atoms]) -> list[tuple[str, float, float]]:
    """(phase, T in K, P in GPa) of the sampling run of each pool frame."""
    return [(a.info["phase"], a.info["run_temperature_k"], a.info["run_pressure_gpa"]) for a in frames]


def within_caps(frames: Sequence[Atoms], max_pressure: float | None, min_contact: float | None) -> np.ndarray:
    """Bool per frame: its virial pressure (``info['pressure_gpa']``) is ≤ ``max_pressure``
    GPa and its shortest interatomic distance ≥ ``min_contact`` Å (None: no cap)."""
    return np.array([(max_pressure is None or a.info["pressure_gpa"] <= max_pressure)
                     and (min_contact is None or shortest_distance(a) >= min_contact) for a in frames],
                    dtype=bool)


def shortest_distance(atoms: Atoms, cutoff: float = 4.0) -> float:
    """Shortest interatomic distance (Å) of a periodic structure over all images (``cutoff``
    if no pair is closer than that)."""
    neighbors = neighbor_list(atoms.positions, atoms.cell.array, cutoff)
    if len(neighbors.i) == 0:
        return cutoff
    positions = torch.as_tensor(atoms.positions)
    vectors = (positions[neighbors.j] - positions[neighbors.i]
               + neighbors.shifts.to(torch.float64) @ torch.as_tensor(atoms.cell.array))
    return float(torch.linalg.vector_norm(vectors, dim=1).min())


def shards(indices: Sequence[int], shard_size: int, n_shards: int) -> list[list[int]]:
    """Split ``indices`` into ``n_shards`` consecutive shards of at most ``shard_size``."""
    chunks = [list(indices[k * shard_size:(k + 1) * shard_size]) for k in range(n_shards)]
    if sum(map(len, chunks)) != len(indices):
        raise ValueError(f"{len(indices)} structures do not fit {n_shards} shards of {shard_size}")
    return chunks
