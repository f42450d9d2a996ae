"""Atom-centred symmetry functions (ANI-style radial and angular terms) in PyTorch.

For atom i with neighbours j, k within the cut-offs, and f_c(r) = ½(cos(πr/r_c) + 1):

    radial, per neighbour species b and shift R_s:
        G_i = Σ_{j∈b} exp(−η_r (r_ij − R_s)²) f_c(r_ij)
    angular, per unordered species pair (b, c), shift R_a and angle θ_s:
        G_i = 2^{1−ζ} Σ_{j<k} (1 + cos(θ_ijk − θ_s))^ζ exp(−η_a ((r_ij + r_ik)/2 − R_a)²)
              f_c(r_ij) f_c(r_ik)

(Smith, Isayev, Roitberg, Chem. Sci. 8, 3192, 2017). They are smooth, invariant to
translation, rotation and permutation of like atoms, and differentiable in positions and cell,
so the NNP gets forces and stress by autograd and the distillation describes structures with
exactly the functions the model sees. Distances in Å; neighbour lists from vesin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from vesin import NeighborList


@dataclass(frozen=True)
class DescriptorSettings:
    """Shape of the symmetry functions (Å, Å⁻²)."""

    cutoff: float = 6.0
    angular_cutoff: float = 3.5
    n_radial: int = 16
    radial_eta: float = 8.0
    n_angular_radial: int = 4
    n_angles: int = 4
    angular_eta: float = 4.0
    zeta: float = 8.0

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "DescriptorSettings":
        """From the validated ``model.descriptors`` section."""
        return cls(**section)


@dataclass(frozen=True)
class Neighbors:
    """A neighbour list: pair (i, j) with j's image shifted by ``shifts`` cells.

    Attributes:
        i, j: atom indices, shape (P,).
        shifts: integer cell shifts of j, shape (P, 3); r_ij = r_j − r_i + shifts @ cell.
    """

    i: torch.Tensor
    j: torch.Tensor
    shifts: torch.Tensor


def neighbor_list(positions: np.ndarray, cell: np.ndarray, cutoff: float) -> Neighbors:
    """Full neighbour list (both i→j and j→i) of a periodic structure (vesin)."""
    calculator = NeighborList(cutoff=cutoff, full_list=True)
    i, j, shifts = calculator.compute(points=np.asarray(positions, dtype=np.float64),
                                      box=np.asarray(cell, dtype=np.float64), periodic=True,
                                      quantities="ijS")
    as_long = lambda a: torch.as_tensor(np.asarray(a, dtype=np.int64))  # noqa: E731
    return Neighbors(as_long(i), as_long(j), as_long(shifts))


def _cutoff_function(r: torch.Tensor, cutoff: float) -> torch.Tensor:
    return 0.5 * (torch.cos(math.pi * r / cutoff) + 1.0)


def _triplets(center: torch.Tensor, n_atoms: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs (p, q), p < q, of neighbour-list entries that share their centre atom."""
    order = torch.argsort(center, stable=True)
    counts = torch.bincount(center, minlength=n_atoms)
    starts = torch.cumsum(counts, 0) - counts
    first: list[torch.Tensor] = []
    second: list[torch.Tensor] = []
    sizes: list[int] = torch.unique(counts).tolist()
    for count in sizes:
        if count < 2:
            continue
        block = torch.triu_indices(count, count, offset=1, device=center.device)
        offsets = starts[counts == count]
        first.append(order[(offsets[:, None] + block[0][None, :]).reshape(-1)])
        second.append(order[(offsets[:, None] + block[1][None, :]).reshape(-1)])
    if len(first) == 0:
        empty = torch.zeros(0, dtype=torch.long, device=center.device)
        return empty, empty
    return torch.cat(first), torch.cat(second)


def symmetry_functions(vectors: torch.Tensor, center: torch.Tensor, neighbor_species: torch.Tensor,
                       n_centers: int, n_species: int, pair_index: torch.Tensor,
                       radial_shifts: torch.Tensor, angular_shifts: torch.Tensor,
                       angles: torch.Tensor, cutoff: float, angular_cutoff: float,
                       radial_eta: float, angular_eta: float, zeta: float) -> torch.Tensor:
    """The descriptors of ``n_centers`` atoms from their neighbour pairs, shape
    (n_centers, n_features); TorchScript-compatible (the deployed model calls it too).

    Args:
        vectors: (P, 3) r_j − r_i (Å) of every pair within ``cutoff``, centre i first.
        center: (P,) centre index i of each pair (< n_centers).
        neighbor_species: (P,) species index of each pair's neighbour j.
        pair_index: (n_species, n_species) index of each unordered species pair.
        radial_shifts, angular_shifts (Å), angles (rad): the grid of shifts (float64).
        cutoff, angular_cutoff (Å), radial_eta, angular_eta (Å⁻²), zeta: the shape.
    """
    dtype = vectors.dtype
    r = torch.linalg.norm(vectors, dim=1)
    # Radial: scatter each pair into (centre, neighbour species, shift).
    radial_terms = torch.exp(-radial_eta * (r[:, None] - radial_shifts.to(dtype)) ** 2)
    radial_terms = radial_terms * _cutoff_function(r, cutoff)[:, None]
    radial = torch.zeros(n_centers * n_species, radial_shifts.shape[0], dtype=dtype, device=vectors.device)
    radial = radial.index_add(0, center * n_species + neighbor_species, radial_terms)
    # Angular: pairs of neighbours of the same centre inside the angular cut-off.
    close = torch.nonzero(r < angular_cutoff).squeeze(1)
    p, q = _triplets(center[close], n_centers)
    p, q = close[p], close[q]
    cos = (vectors[p] * vectors[q]).sum(1) / (r[p] * r[q])
    theta = torch.acos(torch.clamp(cos * 0.999999, -1.0, 1.0))  # finite gradient at 0, π
    angle_terms = (1.0 + torch.cos(theta[:, None] - angles.to(dtype))) ** zeta
    mean_r = 0.5 * (r[p] + r[q])
    distance_terms = torch.exp(-angular_eta * (mean_r[:, None] - angular_shifts.to(dtype)) ** 2)
    weight = (2.0 ** (1.0 - zeta) * _cutoff_function(r[p], angular_cutoff)
              * _cutoff_function(r[q], angular_cutoff))
    terms = (weight[:, None, None] * distance_terms[:, :, None] * angle_terms[:, None, :]).reshape(p.shape[0], -1)
    n_pairs = n_species * (n_species + 1) // 2
    angular = torch.zeros(n_centers * n_pairs, angular_shifts.shape[0] * angles.shape[0], dtype=dtype,
                          device=vectors.device)
    pair_species = pair_index[neighbor_species[p], neighbor_species[q]]
    angular = angular.index_add(0, center[p] * n_pairs + pair_species, terms)
    return torch.cat([radial.reshape(n_centers, -1), angular.reshape(n_centers, -1)], dim=1)


class SymmetryFunctions(torch.nn.Module):
    """Per-atom ANI-style descriptors for a fixed list of elements.

    Args:
        settings: cut-offs, numbers of shifts and widths.
        elements: chemical symbols in model order (species index = position here).
    """

    def __init__(self, settings: DescriptorSettings, elements: Sequence[str]) -> None:
        super().__init__()
        self.settings = settings
        self.elements = tuple(elements)
        s = settings
        self.register_buffer("radial_shifts", torch.linspace(0.8, s.cutoff, s.n_radial + 1)[:-1].double())
        self.register_buffer("angular_shifts",
                             torch.linspace(0.8, s.angular_cutoff, s.n_angular_radial + 1)[:-1].double())
        self.register_buffer("angles", (torch.arange(s.n_angles) + 0.5).double() * math.pi / s.n_angles)
        n = len(self.elements)
        pairs = torch.zeros(n, n, dtype=torch.long)
        for index, (a, b) in enumerate((a, b) for a in range(n) for b in range(a, n)):
            pairs[a, b] = pairs[b, a] = index
        self.register_buffer("pair_index", pairs)

    @property
    def n_features(self) -> int:
        """Length of each atom's descriptor vector."""
        s, n = self.settings, len(self.elements)
        return n * s.n_radial + n * (n + 1) // 2 * s.n_angular_radial * s.n_angles

    def forward(self, positions: torch.Tensor, cell: torch.Tensor, species: torch.Tensor,
                neighbors: Neighbors) -> torch.Tensor:
        """Descriptors, shape (N, n_features).

        Args:
            positions: (N, 3) Å. cell: (3, 3) Å, rows are lattice vectors.
            species: (N,) species indices into ``elements``.
            neighbors: full neighbour list within ``settings.cutoff``.
        """
        s = self.settings
        vectors = (positions[neighbors.j] - positions[neighbors.i]
                   + neighbors.shifts.to(positions.dtype) @ cell)
        return symmetry_functions(vectors, neighbors.i, species[neighbors.j], len(positions),
                                  len(self.elements), self.pair_index, self.radial_shifts,
                                  self.angular_shifts, self.angles, s.cutoff, s.angular_cutoff,
                                  s.radial_eta, s.angular_eta, s.zeta)
