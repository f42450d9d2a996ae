"""Structures as graphs for the NNP: atoms of one or many structures concatenated, neighbour
pairs with lattice shifts, and the strained geometry that forces and stress differentiate.

Structures are batched by concatenation into one :class:`Graph` (atoms of all structures in one
list, neighbour pairs with global indices and each pair's lattice shift in its own structure's
cell), so one call of the descriptors and networks serves many structures. The stress is
σ = (1/V) ∂E/∂ε for a symmetric strain ε that deforms positions and cell together
(r → r(1+ε), cell → cell(1+ε)): ASE's sign and Voigt order (docs/method.md, conventions).
Neighbour lists are built in float64 from the ASE positions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms

from ionnp.nnp.descriptors import Neighbors, neighbor_list
from ionnp.voigt import VOIGT


@dataclass(frozen=True)
class Graph:
    """Structures concatenated into one graph.

    Attributes:
        positions: (N, 3) Å, float64, all atoms of all structures.
        cells: (B, 3, 3) Å, float64, rows are lattice vectors.
        species: (N,) indices into the model's element list.
        batch: (N,) structure index of each atom.
        i, j: (P,) global atom indices of the neighbour pairs (full list, both directions).
        shifts: (P, 3) float64 integer lattice shifts of j in its structure's cell.
        n_atoms: (B,) atoms per structure.
    """

    positions: torch.Tensor
    cells: torch.Tensor
    species: torch.Tensor
    batch: torch.Tensor
    i: torch.Tensor
    j: torch.Tensor
    shifts: torch.Tensor
    n_atoms: torch.Tensor

    @property
    def n_structures(self) -> int:
        return len(self.cells)

    def to(self, device: torch.device | str) -> Graph:
        """The same graph with every tensor on ``device``."""
        return Graph(**{name: getattr(self, name).to(device) for name in self.__dataclass_fields__})

    @property
    def volumes(self) -> torch.Tensor:
        """(B,) cell volumes (Å³)."""
        return torch.linalg.det(self.cells).abs()

    @classmethod
    def from_atoms(cls, atoms: Atoms, elements: Sequence[str], cutoff: float) -> Graph:
        """One periodic structure with its neighbour list within ``cutoff`` (Å)."""
        if not atoms.pbc.all():
            raise ValueError(f"{atoms.get_chemical_formula()}: the NNP needs a 3D-periodic cell")
        symbols = atoms.get_chemical_symbols()
        unknown = sorted(set(symbols) - set(elements))
        if unknown:
            raise ValueError(f"{atoms.get_chemical_formula()}: elements {unknown} are not among "
                             f"the model's {list(elements)}")
        index = {e: k for k, e in enumerate(elements)}
        neighbors = neighbor_list(atoms.positions, atoms.cell.array, cutoff)
        n = len(atoms)
        return cls(
            positions=torch.tensor(atoms.positions, dtype=torch.float64),
            cells=torch.tensor(atoms.cell.array, dtype=torch.float64).unsqueeze(0),
            species=torch.tensor([index[s] for s in symbols], dtype=torch.long),
            batch=torch.zeros(n, dtype=torch.long),
            i=neighbors.i, j=neighbors.j, shifts=neighbors.shifts.to(torch.float64),
            n_atoms=torch.tensor([n]),
        )

    @classmethod
    def collate(cls, graphs: Sequence[Graph]) -> Graph:
        """Concatenate graphs (each of one or more structures) into one."""
        if len(graphs) == 1:
            return graphs[0]
        atom_offsets = np.cumsum([0] + [len(g.positions) for g in graphs])
        structure_offsets = np.cumsum([0] + [g.n_structures for g in graphs])
        return cls(
            positions=torch.cat([g.positions for g in graphs]),
            cells=torch.cat([g.cells for g in graphs]),
            species=torch.cat([g.species for g in graphs]),
            batch=torch.cat([g.batch + int(o) for g, o in zip(graphs, structure_offsets)]),
            i=torch.cat([g.i + int(o) for g, o in zip(graphs, atom_offsets)]),
            j=torch.cat([g.j + int(o) for g, o in zip(graphs, atom_offsets)]),
            shifts=torch.cat([g.shifts for g in graphs]),
            n_atoms=torch.cat([g.n_atoms for g in graphs]),
        )


def build_graph(frames: Atoms | Sequence[Atoms], elements: Sequence[str], cutoff: float) -> Graph:
    """One graph of ``frames`` (a structure or a list of them)."""
    if isinstance(frames, Atoms):
        frames = [frames]
    return Graph.collate([Graph.from_atoms(a, elements, cutoff) for a in frames])


def batches(sizes: Sequence[int], max_atoms: int) -> Iterator[list[int]]:
    """Consecutive index groups of items with ``sizes`` atoms each, at most ``max_atoms`` atoms
    per group (a larger item forms a group of its own)."""
    group: list[int] = []
    count = 0
    for k, size in enumerate(sizes):
        if group and count + size > max_atoms:
            yield group
            group, count = [], 0
        group.append(k)
        count += size
    if group:
        yield group


class Geometry:
    """Positions and lattice shift vectors of a graph, deformed by a per-structure symmetric
    strain when the stress is wanted, with the leaves to differentiate against."""

    def __init__(self, graph: Graph, dtype: torch.dtype, forces: bool, stress: bool) -> None:
        self.positions = graph.positions.to(dtype).detach().requires_grad_(forces)
        cells = graph.cells.to(dtype)
        positions = self.positions
        self.strain = None
        if stress:
            self.strain = torch.zeros_like(cells).requires_grad_(True)
            deformation = (torch.eye(3, dtype=dtype, device=cells.device)
                           + 0.5 * (self.strain + self.strain.mT))
            cells = cells @ deformation
            if graph.n_structures == 1:
                positions = positions @ deformation[0]
            else:
                positions = torch.bmm(positions.unsqueeze(1), deformation[graph.batch]).squeeze(1)
        shifts = graph.shifts.to(dtype)
        if graph.n_structures == 1:
            shift_vectors = shifts @ cells[0]
        else:
            shift_vectors = torch.bmm(shifts.unsqueeze(1), cells[graph.batch[graph.i]]).squeeze(1)
        self.deformed_positions = positions
        # SymmetryFunctions computes shifts @ cell: Cartesian shift vectors with an identity
        # cell give each pair the lattice vector of its own structure.
        self.neighbors = Neighbors(graph.i, graph.j, shift_vectors)
        self.identity = torch.eye(3, dtype=dtype, device=cells.device)
        self.volumes = graph.volumes.to(dtype)

    def distances(self) -> torch.Tensor:
        """(P,) pair distances |r_j − r_i + shift| (Å) of the (deformed) structure."""
        i, j = self.neighbors.i, self.neighbors.j
        vectors = self.deformed_positions[j] - self.deformed_positions[i] + self.neighbors.shifts
        return torch.linalg.vector_norm(vectors, dim=1)

    @property
    def leaves(self) -> list[torch.Tensor]:
        return [t for t in (self.positions, self.strain) if t is not None and t.requires_grad]

    def derivatives(self, energy: torch.Tensor, *, forces: bool, stress: bool,
                    create_graph: bool, retain_graph: bool = False
                    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Forces (N, 3) and Voigt stress (B, 6) of the summed ``energy``."""
        leaves = self.leaves
        if not leaves:
            return None, None
        grads = torch.autograd.grad(energy, leaves, create_graph=create_graph,
                                    retain_graph=retain_graph or create_graph)
        grads = list(grads)
        f = -grads.pop(0) if forces else None
        s = None
        if stress:
            virial = grads.pop(0)
            s = (virial / self.volumes[:, None, None])[:, VOIGT[0], VOIGT[1]]
        return f, s


__all__ = ["Geometry", "Graph", "batches", "build_graph"]
