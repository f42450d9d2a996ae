"""The short-range ensemble as one TorchScript module: what a deployed model file holds.

:class:`DeployedEnsemble` computes, from a neighbour list given as pair vectors, the per-atom
energies of every ensemble member and the derivative of the ensemble-mean energy with respect to
each pair vector. That is all a host code needs (LAMMPS's ``pair_style ionnp``, the ASE
calculator): forces and virial follow from the pair derivatives g_p = ∂E/∂v_p of the pairs
v_p = r_j − r_i,

    F_i += g_p,   F_j −= g_p,   W = −Σ_p v_p ⊗ g_p   (σ_ASE = −W/V),

with no autograd on the host's side, and atoms may be periodic images or another rank's ghost
atoms. The descriptors (:func:`ionnp.nnp.descriptors.symmetry_functions`) and the core repulsion
(:func:`ionnp.nnp.core_repulsion.pair_core_energy`) are the very functions training uses; the
networks and the per-element shift and scale are the members' own
(:class:`ionnp.nnp.short_range.ShortRangeModel`, same arithmetic in the same dtype). The Coulomb
term q² E_C(1) is not in the module: the host adds it (LAMMPS: ``coul/long`` with PPPM or
Ewald at the charges of the model's metadata). Units: Å, eV, eV/Å.
"""


import torch

from ionnp.nnp.core_repulsion import pair_core_energy
from ionnp.nnp.descriptors import symmetry_functions
from ionnp.nnp.potential import NNPotential


class DeployedEnsemble(torch.nn.Module):
    """An :class:`~ionnp.nnp.potential.NNPotential`'s short-range ensemble, scriptable.

    Attributes (read by host codes from the scripted module):
        elements: chemical symbols; species index = position.
        cutoff: neighbour cut-off (Å): every pair within it must be given, none beyond.
        charge: the effective charge q of the reference species (e).
        unit_charges: charge of each element in E_C(1), in ``elements`` order (e); the host's
            Coulomb charges are q × these.
        ensemble_size: K.
    """

    elements: list[str]
    cutoff: float
    angular_cutoff: float
    radial_eta: float
    angular_eta: float
    zeta: float
    charge: float
    unit_charges: list[float]
    ensemble_size: int

    def __init__(self, potential: NNPotential) -> None:
        super().__init__()
        members = list(potential.members)
        descriptor = members[0].descriptor
        s = descriptor.settings
        self.elements = list(potential.elements)
        self.cutoff = float(s.cutoff)
        self.angular_cutoff = float(s.angular_cutoff)
        self.radial_eta = float(s.radial_eta)
        self.angular_eta = float(s.angular_eta)
        self.zeta = float(s.zeta)
        self.charge = float(potential.charge)
        units = potential.unit_charges or {e: 0.0 for e in self.elements}
        self.unit_charges = [float(units[e]) for e in self.elements]
        self.ensemble_size = len(members)
        for name in ("radial_shifts", "angular_shifts", "angles", "pair_index"):
            self.register_buffer(name, getattr(descriptor, name).clone())
        self.networks = torch.nn.ModuleList(
            torch.nn.ModuleList(network for network in m.networks) for m in members)
        stack = lambda name: torch.stack([getattr(m, name).detach().clone() for m in members])  # noqa: E731
        self.register_buffer("feature_mean", stack("feature_mean"))      # (K, E, F)
        self.register_buffer("feature_std", stack("feature_std"))        # (K, E, F)
        self.register_buffer("energy_scale", stack("energy_scale"))      # (K,)
        self.register_buffer("energy_shift", stack("energy_shift").to(torch.float64))  # (K, E)
        self.register_buffer("core_onset", stack("core_onset"))          # (K, E, E)
        self.register_buffer("core_cutoff", stack("core_cutoff"))        # (K, E, E)
        self.register_buffer("atomic_numbers", members[0].atomic_numbers.detach().clone())

    def member_energies(self, species: torch.Tensor, center: torch.Tensor, neighbor: torch.Tensor,
                        vectors: torch.Tensor, n_local: int) -> torch.Tensor:
        """(K, n_local) per-atom energies (eV, float64) of each member: ε_i + core_i.

        Args:
            species: (N,) species index of every atom the pairs name (centres first).
            center: (P,) index of each pair's centre, < ``n_local``.
            neighbor: (P,) index of each pair's neighbour, < N.
            vectors: (P, 3) r_neighbour − r_centre (Å), every pair within :attr:`cutoff`.
            n_local: the atoms whose energies are wanted (indices 0 … n_local − 1).
        """
        dtype = self.feature_mean.dtype
        vectors = vectors.to(dtype)
        centre_species = species[:n_local]
        neighbor_species = species[neighbor]
        features = symmetry_functions(
            vectors, center, neighbor_species, n_local, len(self.elements), self.pair_index,
            self.radial_shifts, self.angular_shifts, self.angles, self.cutoff, self.angular_cutoff,
            self.radial_eta, self.angular_eta, self.zeta)
        distances = torch.linalg.vector_norm(vectors, dim=1)
        a, b = species[center], neighbor_species
        energies: list[torch.Tensor] = []
        for k, networks in enumerate(self.networks):
            x = (features - self.feature_mean[k][centre_species]) / self.feature_std[k][centre_species]
            out = torch.zeros(n_local, dtype=dtype, device=vectors.device)
            for element, network in enumerate(networks):
                index = torch.nonzero(centre_species == element).squeeze(1)
                if index.shape[0] > 0:
                    out = out.index_put((index,), network(x[index]).squeeze(1))
            atomic = self.energy_shift[k][centre_species] + (self.energy_scale[k] * out).to(torch.float64)
            pair = pair_core_energy(distances, self.atomic_numbers.to(dtype)[a],
                                    self.atomic_numbers.to(dtype)[b], self.core_onset[k][a, b],
                                    self.core_cutoff[k][a, b])
            core = torch.zeros(n_local, dtype=dtype, device=vectors.device).index_add(0, center, 0.5 * pair)
            energies.append(atomic + core.to(torch.float64))
        return torch.stack(energies)

    def forward(self, species: torch.Tensor, center: torch.Tensor, neighbor: torch.Tensor,
                vectors: torch.Tensor, n_local: int, member_gradients: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-member per-atom energies and the pair derivatives of the energy.

        Args: as :meth:`member_energies`; ``member_gradients`` gives each member's derivatives
            (for the spread of forces and stress) instead of the mean's.

        Returns:
            energies: (K, n_local) eV, float64.
            gradient: (P, 3) ∂E_mean/∂v_p (eV/Å, float64), or (K, P, 3) per member.
        """
        vectors = vectors.to(torch.float64).detach().requires_grad_(True)
        energies = self.member_energies(species, center, neighbor, vectors, n_local)
        totals = energies.sum(1)
        if member_gradients:
            gradients: list[torch.Tensor] = []
            for k in range(self.ensemble_size):
                (g,) = torch.autograd.grad([totals[k]], [vectors], retain_graph=k < self.ensemble_size - 1,
                                           allow_unused=True)
                gradients.append(torch.zeros_like(vectors) if g is None else g)
            return energies.detach(), torch.stack(gradients)
        (g,) = torch.autograd.grad([totals.mean()], [vectors], allow_unused=True)
        return energies.detach(), torch.zeros_like(vectors) if g is None else g


def script(potential: NNPotential) -> torch.jit.ScriptModule:
    """The scripted :class:`DeployedEnsemble` of ``potential`` (in eval mode)."""
    return torch.jit.script(DeployedEnsemble(potential).eval())


__all__ = ["DeployedEnsemble", "script"]
