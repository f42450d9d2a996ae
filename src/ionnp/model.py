"""The neural network potential: short-range per-element networks plus an effective-charge
Coulomb term, with forces and stress by autograd.

    E = mean_k E_NN,k + E_core + q² E_C(1),    E_NN,k = Σ_i ε_k(G_i),    ε_k(G_i) = s_{Z_i} + a·MLP_{k,Z_i}(x_i)

G_i are the ANI-style symmetry functions of :mod:`ionnp.descriptors`, x_i = (G_i − μ_Z)/σ_Z
their per-element standardisation (μ, σ set from training data and stored as buffers),
s_Z a per-element energy shift and a an energy scale (buffers, set from the training
labels), MLP_{k,Z} the network of element Z in ensemble member k. E_C(1) is the Ewald energy
of unit charges ±1 (:func:`ionnp.coulomb.coulomb`), so the Coulomb term is added back
analytically and exactly: E_C(q) = q² E_C(1) (docs/method.md, effective charge). E_core is a
fixed ZBL repulsion switched on only below the shortest contacts of the training data
(:mod:`ionnp.core_repulsion`), so that no model can let atoms collapse; its radii are buffers set
with the normalisation and travel in the model file.

Forces are F = −∂E/∂r. The stress is σ = (1/V) ∂E/∂ε for a symmetric strain ε that deforms
positions and cell together (r → r(1+ε), cell → cell(1+ε)): ASE's sign (positive under
tension) and Voigt order xx yy zz yz xz xy, eV/Å³ — the convention of ionnp.coulomb and of
the LAMMPS labels.

Structures are batched by concatenation into one :class:`Graph` (atoms of all structures in
one list, neighbour pairs with global indices and each pair's lattice shift in its own
structure's cell), so one call of the descriptors and networks serves many structures.

Precision: parameters are float32 by default (fast); ``model.to(torch.float64)`` gives
float64 throughout (checks against finite differences). Neighbour lists are built in float64
from the ASE positions either way.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from ase import Atoms

from ionnp.core_repulsion import element_numbers, pair_core_energy
from ionnp.coulomb import CoulombResult, coulomb
from ionnp.descriptors import DescriptorSettings, Neighbors, SymmetryFunctions, neighbor_list
from ionnp.io import atomic_path

#: Written into every model file; :meth:`NNPotential.load` refuses other formats.
FILE_FORMAT = "ionnp.nnp"
FILE_VERSION = 2  # 2: core repulsion radii in every member

#: Activations the networks may use (all smooth, so forces and stress are continuous).
ACTIVATIONS: dict[str, Callable[[], torch.nn.Module]] = {
    "celu": lambda: torch.nn.CELU(alpha=0.1),  # ANI's choice
    "silu": torch.nn.SiLU,
    "softplus": torch.nn.Softplus,
    "tanh": torch.nn.Tanh,
    "gelu": torch.nn.GELU,
}

_VOIGT = ([0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1])

#: Floor of the feature standard deviations, relative to their mean over one element's
#: features. Gaussian tails make some symmetry functions tiny with a tinier spread in the
#: training set (~1e-6); dividing by that spread would blow their small changes in new
#: structures up to tens of standard deviations, and the networks extrapolate badly.
STD_FLOOR = 0.1


@dataclass(frozen=True)
class ModelSettings:
    """Architecture of the NNP.

    Attributes:
        descriptors: the symmetry functions (shared by all elements and ensemble members).
        hidden_layers: widths of the hidden layers of each per-element network.
        activation: one of :data:`ACTIVATIONS`.
        ensemble_size: K, the number of independently trained short-range models.
        core_width: Å over which the core repulsion fades out below the shortest training
            contact of each pair (:mod:`ionnp.core_repulsion`); 0 switches it off.
    """

    descriptors: DescriptorSettings = field(default_factory=DescriptorSettings)
    hidden_layers: tuple[int, ...] = (64, 64)
    activation: str = "celu"
    ensemble_size: int = 4
    core_width: float = 0.5

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not one of {sorted(ACTIVATIONS)}")
        if not self.hidden_layers or min(self.hidden_layers) < 1:
            raise ValueError(f"hidden_layers must be positive widths, not {self.hidden_layers}")
        if self.ensemble_size < 1:
            raise ValueError(f"ensemble_size must be ≥ 1, not {self.ensemble_size}")
        if self.core_width < 0:
            raise ValueError(f"core_width must be ≥ 0 Å, not {self.core_width}")
        object.__setattr__(self, "hidden_layers", tuple(int(w) for w in self.hidden_layers))

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ModelSettings:
        """From the validated ``model`` section (keys as the attributes; missing keys default)."""
        section = dict(section)
        descriptors = DescriptorSettings.from_config(section.pop("descriptors", {}))
        if "hidden_layers" in section:
            section["hidden_layers"] = tuple(section["hidden_layers"])
        return cls(descriptors=descriptors, **section)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (stored in model files and checkpoints)."""
        out = asdict(self)
        out["hidden_layers"] = list(self.hidden_layers)
        return out


# --------------------------------------------------------------------------------------------
# Graphs: one or many structures, concatenated.


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


def batches(frames: Sequence[Atoms], max_atoms: int) -> Iterator[list[int]]:
    """Consecutive index groups of ``frames`` with at most ``max_atoms`` atoms each (a larger
    structure forms a group of its own)."""
    group: list[int] = []
    count = 0
    for k, atoms in enumerate(frames):
        if group and count + len(atoms) > max_atoms:
            yield group
            group, count = [], 0
        group.append(k)
        count += len(atoms)
    if group:
        yield group


class _Geometry:
    """Positions and lattice shift vectors of a graph, deformed by a per-structure symmetric
    strain when the stress is wanted, with the leaves to differentiate against."""

    def __init__(self, graph: Graph, dtype: torch.dtype, forces: bool, stress: bool) -> None:
        self.positions = graph.positions.to(dtype).detach().requires_grad_(forces)
        cells = graph.cells.to(dtype)
        positions = self.positions
        self.strain = None
        if stress:
            self.strain = torch.zeros_like(cells).requires_grad_(True)
            deformation = torch.eye(3, dtype=dtype) + 0.5 * (self.strain + self.strain.mT)
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
        self.identity = torch.eye(3, dtype=dtype)
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
            s = (virial / self.volumes[:, None, None])[:, _VOIGT[0], _VOIGT[1]]
        return f, s


# --------------------------------------------------------------------------------------------
# One short-range model.


@dataclass(frozen=True)
class Output:
    """Tensors of a forward pass over a graph of B structures and N atoms.

    energy (B,) eV; energies (N,) eV; forces (N, 3) eV/Å or None; stress (B, 6) eV/Å³ or None.
    """

    energy: torch.Tensor
    energies: torch.Tensor
    forces: torch.Tensor | None
    stress: torch.Tensor | None


class ShortRangeModel(torch.nn.Module):
    """Per-element networks on standardised symmetry functions: per-atom energies ε_i.

    Args:
        elements: chemical symbols in model order.
        settings: architecture.
    """

    def __init__(self, elements: Sequence[str], settings: ModelSettings = ModelSettings()) -> None:
        super().__init__()
        self.elements = tuple(elements)
        self.settings = settings
        self.descriptor = SymmetryFunctions(settings.descriptors, self.elements)
        n_features, n_elements = self.descriptor.n_features, len(self.elements)
        self.networks = torch.nn.ModuleList(
            _network(n_features, settings.hidden_layers, settings.activation)
            for _ in self.elements
        )
        self.register_buffer("feature_mean", torch.zeros(n_elements, n_features))
        self.register_buffer("feature_std", torch.ones(n_elements, n_features))
        self.register_buffer("energy_scale", torch.ones(()))
        # Core repulsion per species pair (Å): full ZBL below the onset, none above the cutoff;
        # cutoff 0 (the state before fit_normalisation) means no core term.
        self.register_buffer("atomic_numbers", element_numbers(self.elements).to(torch.float32))
        self.register_buffer("core_onset", torch.zeros(n_elements, n_elements))
        self.register_buffer("core_cutoff", torch.zeros(n_elements, n_elements))
        # Per-element shifts stay float64 whatever the model's dtype (DFT energies are large;
        # float32 would round them to meV): kept as extra state, not as a buffer.
        self.energy_shift = torch.zeros(n_elements, dtype=torch.float64)

    def get_extra_state(self) -> dict[str, torch.Tensor]:
        return {"energy_shift": self.energy_shift.clone()}

    def set_extra_state(self, state: Mapping[str, torch.Tensor]) -> None:
        self.energy_shift = state["energy_shift"].to(torch.float64).clone()

    @property
    def dtype(self) -> torch.dtype:
        return self.feature_mean.dtype

    @property
    def cutoff(self) -> float:
        return self.settings.descriptors.cutoff

    def linear_layers(self, element: int) -> list[torch.nn.Linear]:
        """The Linear layers of one element's network, input to output."""
        return [m for m in self.networks[element] if isinstance(m, torch.nn.Linear)]

    def graph(self, frames: Atoms | Sequence[Atoms]) -> Graph:
        """A graph of ``frames`` for this model's elements and cut-off."""
        return build_graph(frames, self.elements, self.cutoff)

    def features(self, geometry: _Geometry, species: torch.Tensor) -> torch.Tensor:
        """Raw symmetry functions (N, n_features)."""
        return self.descriptor(geometry.deformed_positions, geometry.identity, species,
                               geometry.neighbors)

    def atomic_energies(self, features: torch.Tensor, species: torch.Tensor, *,
                        shifted: bool = True) -> torch.Tensor:
        """ε_i (N,) from raw features: float64 with the energy shift, else the model's dtype
        without it (training compares with targets from which the shift is taken in float64)."""
        x = (features - self.feature_mean[species]) / self.feature_std[species]
        out = torch.zeros(len(species), dtype=x.dtype)
        for element, network in enumerate(self.networks):
            index = torch.nonzero(species == element).squeeze(1)
            if len(index):
                out = out.index_put((index,), network(x[index]).squeeze(1))
        out = self.energy_scale * out
        if not shifted:
            return out
        return self.energy_shift[species] + out.to(torch.float64)

    def core_energies(self, geometry: _Geometry, species: torch.Tensor) -> torch.Tensor:
        """(N,) per-atom core repulsion (eV): half of each pair's V_ZBL·S (model dtype)."""
        i, j = geometry.neighbors.i, geometry.neighbors.j
        out = torch.zeros(len(species), dtype=self.dtype)
        if not bool((self.core_cutoff > 0).any()) or len(i) == 0:
            return out
        a, b = species[i], species[j]
        pair = pair_core_energy(geometry.distances(), self.atomic_numbers[a], self.atomic_numbers[b],
                                self.core_onset[a, b], self.core_cutoff[a, b])
        return out.index_add(0, i, 0.5 * pair)

    def shift_energies(self, graph: Graph) -> torch.Tensor:
        """(B,) Σ_i s_{Z_i} per structure, float64: the part of E that is not learned."""
        return torch.zeros(graph.n_structures, dtype=torch.float64).index_add(
            0, graph.batch, self.energy_shift[graph.species])

    def forward(self, graph: Graph, *, forces: bool = True, stress: bool = True,
                create_graph: bool = False, shifted: bool = True) -> Output:
        """Energies, forces and stress of every structure in ``graph``.

        ``create_graph`` keeps the graph of the derivatives (force and stress losses);
        ``shifted=False`` leaves out the per-element energy shift (see :meth:`atomic_energies`).
        """
        with torch.enable_grad():
            geometry = _Geometry(graph, self.dtype, forces, stress)
            energies = self.atomic_energies(self.features(geometry, graph.species), graph.species,
                                            shifted=shifted)
            energies = energies + self.core_energies(geometry, graph.species).to(energies.dtype)
            energy = torch.zeros(graph.n_structures, dtype=energies.dtype).index_add(
                0, graph.batch, energies)
            f, s = geometry.derivatives(energy.sum(), forces=forces, stress=stress,
                                        create_graph=create_graph)
        if not create_graph:
            energy, energies = energy.detach(), energies.detach()
        return Output(energy, energies, f, s)

    def predict(self, atoms: Atoms) -> Prediction:
        """Energy, per-atom energies, forces and stress of one structure (numpy, float64)."""
        graph = self.graph(atoms)
        return _split(self(graph), graph.n_atoms)[0]

    def predict_many(self, frames: Sequence[Atoms], *, max_atoms: int = 4096) -> list[Prediction]:
        """:meth:`predict` for many structures, batched into graphs of ≤ ``max_atoms`` atoms."""
        out: list[Prediction] = []
        for group in batches(frames, max_atoms):
            graph = self.graph([frames[k] for k in group])
            out += _split(self(graph), graph.n_atoms)
        return out

    @torch.no_grad()
    def fit_normalisation(self, graphs: Graph | Sequence[Graph], *,
                          energy: torch.Tensor | None = None,
                          energies: torch.Tensor | None = None, max_atoms: int = 4096) -> None:
        """Set the feature standardisation and energy shift/scale from training structures.

        Args:
            graphs: the training structures (one graph or many; features are computed in
                float64, ≤ ``max_atoms`` atoms at a time).
            energy: (B,) total energies (eV) of the structures, in order; used when
                ``energies`` is None: per-element shifts by least squares on the composition
                (minimum norm where the composition does not vary), scale 1 eV.
            energies: (N,) per-atom energies (eV), in order: shift = their per-element mean,
                scale = the standard deviation of the rest.

        Feature standard deviations are floored at :data:`STD_FLOOR` times their mean over
        the element's features; features an element never sees keep mean 0 and std 1. The core
        repulsion of each species pair ends at the pair's shortest distance in ``graphs`` and is
        full ``settings.core_width`` Å below it (no core for a pair the graphs never hold).
        """
        graphs = [graphs] if isinstance(graphs, Graph) else list(graphs)
        n_elements, n_features = self.feature_mean.shape
        descriptor = copy.deepcopy(self.descriptor).double()
        count = torch.zeros(n_elements, dtype=torch.float64)
        pivot = None  # a reference mean against cancellation in the sums of squares
        total = torch.zeros(n_elements, n_features, dtype=torch.float64)
        square = torch.zeros(n_elements, n_features, dtype=torch.float64)
        shortest = torch.full((n_elements, n_elements), float("inf"), dtype=torch.float64)
        for chunk in _chunks(graphs, max_atoms):
            graph = Graph.collate(chunk)
            geometry = _Geometry(graph, torch.float64, False, False)
            pair_species = graph.species[geometry.neighbors.i] * n_elements + graph.species[geometry.neighbors.j]
            flat = shortest.view(-1)
            flat.scatter_reduce_(0, pair_species, geometry.distances(), reduce="amin")
            features = descriptor(geometry.deformed_positions, geometry.identity, graph.species,
                                  geometry.neighbors)
            if pivot is None:
                pivot = torch.stack([features[graph.species == e].mean(0) if (graph.species == e).any()
                                     else torch.zeros(n_features, dtype=torch.float64)
                                     for e in range(n_elements)])
            for element in range(n_elements):
                mine = features[graph.species == element] - pivot[element]
                count[element] += len(mine)
                total[element] += mine.sum(0)
                square[element] += (mine**2).sum(0)
        mean = torch.zeros(n_elements, n_features, dtype=torch.float64)
        std = torch.ones(n_elements, n_features, dtype=torch.float64)
        for element in range(n_elements):
            n = count[element]
            if n == 0:
                continue
            centred = total[element] / n
            mean[element] = pivot[element] + centred
            variance = (square[element] - n * centred**2) / max(n - 1, 1)
            spread = torch.sqrt(torch.clamp(variance, min=0.0))
            floor = STD_FLOOR * spread.mean()
            std[element] = torch.clamp(spread, min=floor) if floor > 0 else 1.0
        species = torch.cat([g.species for g in graphs])
        shift = torch.zeros(n_elements, dtype=torch.float64)
        scale = torch.ones((), dtype=torch.float64)
        if energies is not None:
            energies = torch.as_tensor(energies, dtype=torch.float64)
            for element in range(n_elements):
                mine = energies[species == element]
                if len(mine):
                    shift[element] = mine.mean()
            rest = energies - shift[species]
            if len(rest) > 1 and rest.std() > 0:
                scale = rest.std()
        elif energy is not None:
            counts = torch.cat([composition_counts(g, n_elements) for g in graphs])
            shift = torch.linalg.pinv(counts) @ torch.as_tensor(energy, dtype=torch.float64)
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)
        self.energy_shift = shift
        self.energy_scale.copy_(scale)
        seen = torch.isfinite(shortest) & (self.settings.core_width > 0)
        self.core_cutoff.copy_(torch.where(seen, shortest, torch.zeros_like(shortest)))
        self.core_onset.copy_(torch.where(seen, (shortest - self.settings.core_width).clamp(min=0.0),
                                          torch.zeros_like(shortest)))


def _chunks(graphs: Sequence[Graph], max_atoms: int) -> Iterator[list[Graph]]:
    """Consecutive groups of graphs with ≤ ``max_atoms`` atoms (a larger graph alone)."""
    group: list[Graph] = []
    count = 0
    for graph in graphs:
        n = len(graph.positions)
        if group and count + n > max_atoms:
            yield group
            group, count = [], 0
        group.append(graph)
        count += n
    if group:
        yield group


def composition_counts(graph: Graph, n_elements: int) -> torch.Tensor:
    """(B, n_elements) number of atoms of each element per structure."""
    counts = torch.zeros(graph.n_structures, n_elements, dtype=torch.float64)
    return counts.index_put((graph.batch, graph.species), torch.ones(len(graph.batch),
                            dtype=torch.float64), accumulate=True)


def _network(n_features: int, hidden: Sequence[int], activation: str) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    width = n_features
    for size in hidden:
        layers += [torch.nn.Linear(width, size), ACTIVATIONS[activation]()]
        width = size
    layers.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------
# Predictions as numpy, per structure.


@dataclass(frozen=True)
class Prediction:
    """One structure's prediction (float64 numpy).

    Attributes:
        energy: eV (short range + Coulomb).
        energies: (N,) eV; they sum to ``energy`` (the Coulomb energy, which ionnp.coulomb
            gives only as a total, is shared equally among the atoms).
        forces: (N, 3) eV/Å. stress: (6,) eV/Å³ (ASE sign, Voigt xx yy zz yz xz xy).
        energy_std, forces_std, stress_std: ensemble spread (population standard deviation
            over the members; zero for one member; None where not computed).
        short_range_energy, coulomb_energy: the two terms of ``energy`` (eV).
    """

    energy: float
    energies: np.ndarray
    forces: np.ndarray | None
    stress: np.ndarray | None
    energy_std: float = 0.0
    forces_std: np.ndarray | None = None
    stress_std: np.ndarray | None = None
    short_range_energy: float = 0.0
    coulomb_energy: float = 0.0


def _numpy(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().to(torch.float64).numpy()


def _split(output: Output, n_atoms: torch.Tensor, spread: Output | None = None
           ) -> list[Prediction]:
    """Per-structure predictions of a forward pass; ``spread`` holds the ensemble stds."""
    sizes = n_atoms.tolist()
    energy, energies = _numpy(output.energy), _numpy(output.energies)
    forces, stress = _numpy(output.forces), _numpy(output.stress)
    out = []
    start = 0
    for b, n in enumerate(sizes):
        atoms = slice(start, start + n)
        start += n
        kwargs: dict[str, Any] = {}
        if spread is not None:
            kwargs["energy_std"] = float(spread.energy[b])
            if spread.forces is not None:
                kwargs["forces_std"] = _numpy(spread.forces[atoms])
            if spread.stress is not None:
                kwargs["stress_std"] = _numpy(spread.stress[b])
        out.append(Prediction(
            energy=float(energy[b]), energies=energies[atoms],
            forces=None if forces is None else forces[atoms],
            stress=None if stress is None else stress[b],
            short_range_energy=float(energy[b]), **kwargs,
        ))
    return out


# --------------------------------------------------------------------------------------------
# The ensemble with the Coulomb term.


class NNPotential(torch.nn.Module):
    """An ensemble of short-range models plus the effective-charge Coulomb term.

    Args:
        members: K short-range models with the same elements and descriptor settings.
        charge: the effective charge q (e); 0 switches the Coulomb term off.
        charge_signs: the unit charge of each element (+1 cation, −1 anion), the charges of
            E_C(1); default +1 for the first element, −1 for the second (two elements only).
        coulomb_accuracy: ε of :func:`ionnp.coulomb.coulomb`.
    """

    def __init__(self, members: Sequence[ShortRangeModel], charge: float = 0.0,
                 charge_signs: Mapping[str, float] | None = None, *,
                 coulomb_accuracy: float = 1e-8) -> None:
        super().__init__()
        if not members:
            raise ValueError("an NNPotential needs at least one member")
        first = members[0]
        for m in members[1:]:
            if m.elements != first.elements or m.settings.descriptors != first.settings.descriptors:
                raise ValueError("ensemble members must share elements and descriptor settings")
        self.members = torch.nn.ModuleList(members)
        self.elements = first.elements
        self.charge = float(charge)
        if charge_signs is None:
            if len(self.elements) != 2:
                raise ValueError("charge_signs are needed unless there are exactly two elements")
            charge_signs = {self.elements[0]: 1.0, self.elements[1]: -1.0}
        if set(charge_signs) != set(self.elements):
            raise ValueError(f"charge_signs {dict(charge_signs)} do not match elements {self.elements}")
        self.charge_signs = {e: float(charge_signs[e]) for e in self.elements}
        self.coulomb_accuracy = coulomb_accuracy

    @classmethod
    def create(cls, elements: Sequence[str], settings: ModelSettings = ModelSettings(),
               charge: float = 0.0, charge_signs: Mapping[str, float] | None = None, *,
               seed: int = 0) -> NNPotential:
        """``settings.ensemble_size`` freshly initialised members (member k seeded seed + k)."""
        members = []
        for k in range(settings.ensemble_size):
            torch.manual_seed(seed + k)
            members.append(ShortRangeModel(elements, settings))
        return cls(members, charge, charge_signs)

    @property
    def settings(self) -> ModelSettings:
        return replace(self.members[0].settings, ensemble_size=len(self.members))

    @property
    def cutoff(self) -> float:
        return self.members[0].cutoff

    @property
    def dtype(self) -> torch.dtype:
        return self.members[0].dtype

    def graph(self, frames: Atoms | Sequence[Atoms]) -> Graph:
        return build_graph(frames, self.elements, self.cutoff)

    def short_range(self, graph: Graph, *, forces: bool = True, stress: bool = True,
                    spread: bool = True) -> tuple[Output, Output]:
        """Ensemble mean of the short-range term, and its spread (population std over the
        members). The spread of the energies is always there; that of forces and stress only
        with ``spread`` (one backward pass per member instead of one in all), else None.

        The descriptors are computed once and shared by all members.
        """
        with torch.enable_grad():
            geometry = _Geometry(graph, self.dtype, forces, stress)
            features = self.members[0].features(geometry, graph.species)
            energies = torch.stack([m.atomic_energies(features, graph.species)
                                    + m.core_energies(geometry, graph.species).to(torch.float64)
                                    for m in self.members])  # (K, N)
            energy = torch.zeros(len(self.members), graph.n_structures,
                                 dtype=energies.dtype).index_add(1, graph.batch, energies)
            k = len(self.members)
            if spread and k > 1 and (forces or stress):
                per_member = [geometry.derivatives(energy[m].sum(), forces=forces, stress=stress,
                                                   create_graph=False, retain_graph=m < k - 1)
                              for m in range(k)]
                f_all = torch.stack([p[0] for p in per_member]) if forces else None
                s_all = torch.stack([p[1] for p in per_member]) if stress else None
                f = f_all.mean(0) if forces else None
                s = s_all.mean(0) if stress else None
                f_std = f_all.std(0, correction=0) if forces else None
                s_std = s_all.std(0, correction=0) if stress else None
            else:
                f, s = geometry.derivatives(energy.mean(0).sum(), forces=forces, stress=stress,
                                            create_graph=False)
                zero = lambda t: None if t is None else torch.zeros_like(t)  # noqa: E731
                f_std, s_std = (zero(f), zero(s)) if k == 1 else (None, None)
        energies, energy = energies.detach(), energy.detach()
        mean = Output(energy.mean(0), energies.mean(0), f, s)
        std = Output(energy.std(0, correction=0), energies.std(0, correction=0), f_std, s_std)
        return mean, std

    def coulomb_unit(self, atoms: Atoms) -> CoulombResult:
        """E_C(1), F_C(1), σ_C(1) of ``atoms`` with the unit charges."""
        return coulomb(atoms, self.charge_signs, accuracy=self.coulomb_accuracy)

    def predict(self, atoms: Atoms, *, forces: bool = True, stress: bool = True,
                spread: bool = True, coulomb_unit: CoulombResult | None = None) -> Prediction:
        """Energy, per-atom energies, forces, stress and their ensemble spread of one structure.

        ``coulomb_unit``: a precomputed unit-charge Coulomb result (else computed if q ≠ 0).
        """
        return self.predict_many([atoms], forces=forces, stress=stress, spread=spread,
                                 coulomb_units=None if coulomb_unit is None else [coulomb_unit])[0]

    def predict_many(self, frames: Sequence[Atoms], *, forces: bool = True, stress: bool = True,
                     spread: bool = True, coulomb_units: Sequence[CoulombResult] | None = None,
                     max_atoms: int = 4096) -> list[Prediction]:
        """:meth:`predict` for many structures, batched into graphs of ≤ ``max_atoms`` atoms."""
        out: list[Prediction] = []
        for group in batches(frames, max_atoms):
            graph = self.graph([frames[k] for k in group])
            mean, std = self.short_range(graph, forces=forces, stress=stress, spread=spread)
            for k, p in zip(group, _split(mean, graph.n_atoms, std)):
                out.append(self._add_coulomb(p, frames[k], None if coulomb_units is None
                                             else coulomb_units[k]))
        return out

    def _add_coulomb(self, p: Prediction, atoms: Atoms, unit: CoulombResult | None) -> Prediction:
        if self.charge == 0.0:
            return p
        c = (unit if unit is not None else self.coulomb_unit(atoms)).scaled(self.charge)
        return replace(
            p, energy=p.energy + c.energy, energies=p.energies + c.energy / len(atoms),
            forces=None if p.forces is None else p.forces + c.forces,
            stress=None if p.stress is None else p.stress + c.stress,
            coulomb_energy=c.energy,
        )

    # ---- files

    def save(self, path: str | os.PathLike, metadata: Mapping[str, Any] | None = None) -> None:
        """Write the model file (atomically): settings, elements, q, normalisation, weights."""
        payload = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "elements": list(self.elements),
            "settings": self.settings.to_dict(),
            "charge": self.charge,
            "charge_signs": dict(self.charge_signs),
            "coulomb_accuracy": self.coulomb_accuracy,
            "dtype": str(self.dtype).removeprefix("torch."),
            "members": [clone_state(m) for m in self.members],
            "metadata": dict(metadata or {}),
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NNPotential:
        """Read a file written by :meth:`save` (``torch.load(weights_only=True)``)."""
        payload = torch.load(path, weights_only=True, map_location="cpu")
        if payload.get("format") != FILE_FORMAT:
            raise ValueError(f"{path}: not an ionnp model file")
        if payload["version"] != FILE_VERSION:
            age = "newer" if payload["version"] > FILE_VERSION else "older"
            raise ValueError(f"{path}: model file version {payload['version']} is {age} than this "
                             f"ionnp's ({FILE_VERSION}); retrain it with this version")
        settings = settings_from_dict(payload["settings"])
        dtype = getattr(torch, payload["dtype"])
        members = []
        for state in payload["members"]:
            member = ShortRangeModel(payload["elements"], settings).to(dtype)
            member.load_state_dict(state)
            members.append(member)
        model = cls(members, payload["charge"], payload["charge_signs"],
                    coulomb_accuracy=payload["coulomb_accuracy"])
        model.metadata = payload.get("metadata", {})
        return model


def clone_state(module: torch.nn.Module) -> dict[str, Any]:
    """A detached copy of ``module.state_dict()`` (extra state included)."""
    return copy.deepcopy({k: v.detach() if isinstance(v, torch.Tensor) else v
                          for k, v in module.state_dict().items()})


def settings_from_dict(data: Mapping[str, Any]) -> ModelSettings:
    """Inverse of :meth:`ModelSettings.to_dict`."""
    data = dict(data)
    descriptors = DescriptorSettings(**data.pop("descriptors"))
    data["hidden_layers"] = tuple(data["hidden_layers"])
    return ModelSettings(descriptors=descriptors, **data)


__all__ = [
    "ACTIVATIONS", "Graph", "ModelSettings", "NNPotential", "Output", "Prediction",
    "ShortRangeModel", "batches", "build_graph", "clone_state", "composition_counts",
    "settings_from_dict",
]
