"""A fixed core repulsion that the network cannot undo: ZBL below the shortest training contacts.

A short-range network knows nothing about distances it never saw; with an attractive Coulomb
term at q > 0 (or any extrapolation error) two atoms can then fall into each other. Every model
therefore carries, per species pair (a, b), the universal Ziegler–Biersack–Littmark screened
nuclear repulsion, switched off smoothly between ``onset`` and ``cutoff``:

    E_core = Σ_{pairs i<j} V_ZBL(r_ij) S(r_ij),
    V_ZBL(r) = k_e Z_a Z_b / r · φ(r / a_ab),   a_ab = 0.46850 Å / (Z_a^0.23 + Z_b^0.23),
    φ(x) = 0.18175 e^{−3.19980 x} + 0.50986 e^{−0.94229 x} + 0.28022 e^{−0.40290 x}
           + 0.02817 e^{−0.20162 x},
    S(r) = 1 (r ≤ r_on), 1 − 10t³ + 15t⁴ − 6t⁵ with t = (r − r_on)/(r_off − r_on), 0 (r ≥ r_off).

V_ZBL is LAMMPS's ``pair_style zbl`` (the same constants; the test compares forces). S is C²,
so energy, forces and stress stay smooth. ``r_off`` is the shortest contact of the pair in the
data the model was normalised on (:meth:`ionnp.nnp.short_range.ShortRangeModel.fit_normalisation`), so the
term is zero on every training structure and the network alone fits the labels; ``r_on`` is
``width`` Å below it. Units: Å, eV.
"""

from __future__ import annotations

import torch
from ase.data import atomic_numbers
from ase.units import Bohr, Hartree

#: k_e = e²/(4πε₀) in eV Å (the value LAMMPS's metal units and ASE agree on to 1e-6).
COULOMB_EV_A = Hartree * Bohr


def zbl_energy(r: torch.Tensor, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
    """V_ZBL(r) (eV) of pairs at distances ``r`` (Å) with atomic numbers ``z_a``, ``z_b``
    (all broadcastable, floating point). TorchScript-compatible, hence the constants inline:
    ZBL's universal screening (coefficients and exponents of φ, the length 0.46850 Å) and
    k_e = :data:`COULOMB_EV_A` (a test ties the two)."""
    coulomb_ev_a = 14.399645351950548
    screening = 0.46850 / (z_a**0.23 + z_b**0.23)
    x = r / screening
    phi = (0.18175 * torch.exp(-3.19980 * x) + 0.50986 * torch.exp(-0.94229 * x)
           + 0.28022 * torch.exp(-0.40290 * x) + 0.02817 * torch.exp(-0.20162 * x))
    return coulomb_ev_a * z_a * z_b / r * phi


def smooth_step(r: torch.Tensor, onset: torch.Tensor, cutoff: torch.Tensor) -> torch.Tensor:
    """S(r): 1 below ``onset``, 0 above ``cutoff``, the quintic C² step in between."""
    t = ((r - onset) / (cutoff - onset).clamp(min=1e-12)).clamp(0.0, 1.0)
    return 1.0 - t**3 * (10.0 - 15.0 * t + 6.0 * t**2)


def pair_core_energy(r: torch.Tensor, z_a: torch.Tensor, z_b: torch.Tensor, onset: torch.Tensor,
                     cutoff: torch.Tensor) -> torch.Tensor:
    """V_ZBL(r) S(r) per pair (eV); exactly zero at and beyond ``cutoff`` (also where a pair has
    cutoff 0, i.e. no core term). TorchScript-compatible (the deployed model calls it too)."""
    active = r < cutoff
    safe_r = torch.where(active, r, torch.ones_like(r))
    energy = zbl_energy(safe_r, z_a, z_b) * smooth_step(safe_r, onset, cutoff)
    return torch.where(active, energy, torch.zeros_like(energy))


def element_numbers(elements: tuple[str, ...]) -> torch.Tensor:
    """(n_elements,) atomic numbers of ``elements`` (chemical symbols)."""
    return torch.tensor([float(atomic_numbers[e]) for e in elements], dtype=torch.float64)


__all__ = ["COULOMB_EV_A", "element_numbers", "pair_core_energy", "smooth_step", "zbl_energy"]
