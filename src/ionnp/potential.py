"""The empirical rigid-ion potential: Buckingham short range plus Coulomb with fixed charges.

    φ_ij(r) = A exp(−r/ρ) − C/r⁶ + q_i q_j / (4πε₀ r)

Energies in eV, distances in Å. The parameters come from config (``potential``); this module
turns them into LAMMPS commands. Types are numbered in :attr:`RigidIonPotential.elements`
order (largest formal charge first), the order in which every structure of the campaign lists its atoms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ionnp.chemistry import Chemistry


@dataclass(frozen=True)
class BuckinghamPair:
    """Buckingham parameters of one species pair.

    Attributes:
        A: repulsive prefactor (eV).
        rho: repulsive decay length (Å).
        C: dispersion coefficient (eV Å⁶).
    """

    A: float
    rho: float
    C: float


@dataclass(frozen=True)
class RigidIonPotential:
    """Buckingham + Coulomb with fixed point charges.

    Attributes:
        charges: charge per element (e); element order is the LAMMPS type order.
        pairs: Buckingham parameters keyed by an unordered element pair; absent pairs have
            no short-range term.
        cutoff: cut-off of the Buckingham term (Å), truncated without shift.
        ewald_alpha: Ewald splitting parameter (Å⁻¹).
        ewald_real_cutoff: cut-off of Ewald's real-space sum (Å); erfc(α r_c) must be tiny.
        kspace_accuracy: relative force accuracy of the reciprocal sum; LAMMPS picks the
            number of k-vectors from it for the given α.

    Why a large α: LAMMPS's real-space Coulomb evaluates erfc with a polynomial
    (Abramowitz–Stegun 7.1.26, error up to 1.5e-7), which leaves ~1e-5 eV/atom of error in
    the energy at the usual α ≈ 0.3–0.5 Å⁻¹ whatever the requested accuracy. At α = 2 Å⁻¹
    the real-space terms vanish beyond 3 Å and the sum is carried by the reciprocal part,
    which LAMMPS evaluates exactly: 1e-9 eV/atom against a converged reference, at a cost
    that is fine for the small cells that get labelled (~30 ms for 32 atoms).
    """

    charges: Mapping[str, float]
    pairs: Mapping[frozenset[str], BuckinghamPair]
    cutoff: float = 10.0
    ewald_alpha: float = 2.0
    ewald_real_cutoff: float = 3.0
    kspace_accuracy: float = 1e-10

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> "RigidIonPotential":
        """Build from the validated ``potential`` section of the config."""
        pairs = {
            frozenset(key.split("-")): BuckinghamPair(**params)
            for key, params in section["pairs"].items()
        }
        return cls(
            charges=dict(section["charges"]),
            pairs=pairs,
            cutoff=float(section["cutoff"]),
            ewald_alpha=float(section["ewald_alpha"]),
            ewald_real_cutoff=float(section["ewald_real_cutoff"]),
            kspace_accuracy=float(section["kspace_accuracy"]),
        )

    @property
    def elements(self) -> tuple[str, ...]:
        """Elements in LAMMPS type order: the chemistry's species order (largest formal charge first), whatever
        the order of the config's keys (YAML writers may sort them)."""
        return self.chemistry.elements

    @property
    def chemistry(self) -> Chemistry:
        """The species and formal charges of the potential's charges."""
        return Chemistry.from_charges(self.charges)

    def pair(self, a: str, b: str) -> BuckinghamPair | None:
        """Buckingham parameters of the pair (a, b), or None when it has no short-range term."""
        return self.pairs.get(frozenset((a, b)))

    def type_of(self, element: str) -> int:
        """LAMMPS atom type (1-based) of ``element``."""
        return self.elements.index(element) + 1

    def lammps_commands(self, coulomb: bool = True, md_accuracy: float | None = None) -> list[str]:
        """Pair, kspace and charge commands for a box whose types follow :attr:`elements`.

        Args:
            coulomb: False defines only the Buckingham term (charges stay on the atoms but do
                not interact), which gives the short-range labels.
            md_accuracy: for molecular dynamics, where ~1e-5 eV/atom does not matter but
                speed does: LAMMPS's own α for the Buckingham cut-off and this relative
                force accuracy, instead of the precise settings used for labels.
        """
        if not coulomb:
            commands = [f"pair_style buck {self.cutoff!r}"]
        elif md_accuracy is not None:
            commands = [f"pair_style buck/coul/long {self.cutoff!r}"]
        else:
            commands = [f"pair_style buck/coul/long {self.cutoff!r} {self.ewald_real_cutoff!r}"]
        for i, a in enumerate(self.elements, start=1):
            for j, b in enumerate(self.elements[i - 1 :], start=i):
                p = self.pair(a, b) or BuckinghamPair(0.0, 1.0, 0.0)
                commands.append(f"pair_coeff {i} {j} {p.A!r} {p.rho!r} {p.C!r}")
        if coulomb and md_accuracy is not None:
            commands.append(f"kspace_style ewald {md_accuracy!r}")
        elif coulomb:
            commands += [
                "pair_modify table 0",  # no tabulated erfc
                f"kspace_style ewald {self.kspace_accuracy!r}",
                f"kspace_modify gewald {self.ewald_alpha!r}",
            ]
        for element, charge in self.charges.items():
            commands.append(f"set type {self.type_of(element)} charge {charge!r}")
        return commands
