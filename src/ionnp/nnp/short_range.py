"""The neural network potential: short-range per-element networks plus an effective-charge
Coulomb term, with forces and stress by autograd.

    E = mean_k E_NN,k + E_core + q² E_C(1),    E_NN,k = Σ_i ε_k(G_i),    ε_k(G_i) = s_{Z_i} + a·MLP_{k,Z_i}(x_i)

G_i are the ANI-style symmetry functions of :mod:`ionnp.nnp.descriptors`, x_i = (G_i − μ_Z)/σ_Z
their per-element standardisation (μ, σ set from training data and stored as buffers),
s_Z a per-element energy shift and a an energy scale (buffers, set from the training
labels), MLP_{k,Z} the network of element Z in ensemble member k. E_C(1) is the Ewald energy
of unit charges ±1 (:func:`ionnp.charges.coulomb.coulomb`), so the Coulomb term is added back
analytically and exactly: E_C(q) = q² E_C(1) (docs/method.md, effective charge). E_core is a
fixed ZBL repulsion switched on only below the shortest contacts of the training data
(:mod:`ionnp.nnp.core_repulsion`), so that no model can let atoms collapse; its radii are buffers set
with the normalisation and travel in the model file.

Forces are F = −∂E/∂r. The stress is σ = (1/V) ∂E/∂ε for a symmetric strain ε that deforms
positions and cell together (r → r(1+ε), cell → cell(1+ε)): ASE's sign (positive under
tension) and Voigt order xx yy zz yz xz xy, eV/Å³ — the convention of ionnp.charges.coulomb and of
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from ase import Atoms

from ionnp.nnp.core_repulsion import element_numbers, pair_core_energy
from ionnp.nnp.descriptors import DescriptorSettings, SymmetryFunctions
from ionnp.nnp.graph import Geometry, Graph, batches, build_graph
from ionnp.nnp.prediction import Output, Prediction, split_output

#: Activations the networks may use (all smooth, so forces and stress are continuous).
ACTIVATIONS: dict[str, Callable[[], torch.nn.Module]] = {
    "celu": lambda: torch.nn.CELU(alpha=0.1),  # ANI's choice
    "silu": torch.nn.SiLU,
    "softplus": torch.nn.Softplus,
    "tanh": torch.nn.Tanh,
    "gelu": torch.nn.GELU,
}

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
            contact of each pair (:mod:`ionnp.nnp.core_repulsion`); 0 switches it off.
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

    def features(self, geometry: Geometry, species: torch.Tensor) -> torch.Tensor:
        """Raw symmetry functions (N, n_features)."""
        return self.descriptor(geometry.deformed_positions, geometry.identity, species,
                               geometry.neighbors)

    def atomic_energies(self, features: torch.Tensor, species: torch.Tensor, *,
                        shifted: bool = True) -> torch.Tensor:
        """ε_i (N,) from raw features: float64 with the energy shift, else the model's dtype
        without it (training compares with targets from which the shift is taken in float64)."""
        x = (features - self.feature_mean[species]) / self.feature_std[species]
        out = torch.zeros(len(species), dtype=x.dtype, device=x.device)
        for element, network in enumerate(self.networks):
            index = torch.nonzero(species == element).squeeze(1)
            if len(index):
                out = out.index_put((index,), network(x[index]).squeeze(1))
        out = self.energy_scale * out
        if not shifted:
            return out
        return self.energy_shift.to(out.device)[species] + out.to(torch.float64)

    def core_energies(self, geometry: Geometry, species: torch.Tensor) -> torch.Tensor:
        """(N,) per-atom core repulsion (eV): half of each pair's V_ZBL·S (model dtype)."""
        i, j = geometry.neighbors.i, geometry.neighbors.j
        out = torch.zeros(len(species), dtype=self.dtype, device=species.device)
        if not bool((self.core_cutoff > 0).any()) or len(i) == 0:
            return out
        a, b = species[i], species[j]
        pair = pair_core_energy(geometry.distances(), self.atomic_numbers[a], self.atomic_numbers[b],
                                self.core_onset[a, b], self.core_cutoff[a, b])
        return out.index_add(0, i, 0.5 * pair)

    def shift_energies(self, graph: Graph) -> torch.Tensor:
        """(B,) Σ_i s_{Z_i} per structure, float64: the part of E that is not learned."""
        return torch.zeros(graph.n_structures, dtype=torch.float64, device=graph.batch.device).index_add(
            0, graph.batch, self.energy_shift.to(graph.batch.device)[graph.species])

    def forward(self, graph: Graph, *, forces: bool = True, stress: bool = True,
                create_graph: bool = False, shifted: bool = True) -> Output:
        """Energies, forces and stress of every structure in ``graph``.

        ``create_graph`` keeps the graph of the derivatives (force and stress losses);
        ``shifted=False`` leaves out the per-element energy shift (see :meth:`atomic_energies`).
        """
        with torch.enable_grad():
            geometry = Geometry(graph, self.dtype, forces, stress)
            energies = self.atomic_energies(self.features(geometry, graph.species), graph.species,
                                            shifted=shifted)
            energies = energies + self.core_energies(geometry, graph.species).to(energies.dtype)
            energy = torch.zeros(graph.n_structures, dtype=energies.dtype,
                                 device=energies.device).index_add(
                0, graph.batch, energies)
            f, s = geometry.derivatives(energy.sum(), forces=forces, stress=stress,
                                        create_graph=create_graph)
        if not create_graph:
            energy, energies = energy.detach(), energies.detach()
        return Output(energy, energies, f, s)

    def predict(self, atoms: Atoms) -> Prediction:
        """Energy, per-atom energies, forces and stress of one structure (numpy, float64)."""
        graph = self.graph(atoms)
        return split_output(self(graph), graph.n_atoms)[0]

    def predict_many(self, frames: Sequence[Atoms], *, max_atoms: int = 4096) -> list[Prediction]:
        """:meth:`predict` for many structures, batched into graphs of ≤ ``max_atoms`` atoms."""
        out: list[Prediction] = []
        for group in batches([len(a) for a in frames], max_atoms):
            graph = self.graph([frames[k] for k in group])
            out += split_output(self(graph), graph.n_atoms)
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
        for group in batches([len(g.positions) for g in graphs], max_atoms):
            graph = Graph.collate([graphs[k] for k in group])
            geometry = Geometry(graph, torch.float64, False, False)
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


def clone_state(module: torch.nn.Module) -> dict[str, Any]:
    """A detached copy of ``module.state_dict()`` (extra state included)."""
    return copy.deepcopy({k: v.detach() if isinstance(v, torch.Tensor) else v
                          for k, v in module.state_dict().items()})


__all__ = ["ACTIVATIONS", "ModelSettings", "ShortRangeModel", "STD_FLOOR", "clone_state",
           "composition_counts"]
