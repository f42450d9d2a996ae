"""Independent reference implementations used by the tests (plain numpy, no LAMMPS, no torch).

They are deliberately simple and slow: direct lattice sums over periodic images with generous,
fixed convergence parameters.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from scipy.special import erfc

from ionnp.chemistry import Chemistry
from ionnp.config import load_config
from ionnp.prototypes.structures import build

_DEFAULT = load_config(Path(__file__).parents[1] / "config" / "config.yaml")

#: The chemistry every test structure uses (ZnO, formal charges ±2).
ZNO = Chemistry.from_charges({"Zn": 2.0, "O": -2.0})
#: The default campaign's phases (prototypes.structures of config/config.yaml).
ZNO_STRUCTURES = _DEFAULT["prototypes"]["structures"]


def zno_cell(phase: str, supercell=(1, 1, 1)):
    """A default-campaign phase of ZnO, unrelaxed, repeated by ``supercell``."""
    return build(ZNO_STRUCTURES[phase], ZNO, supercell)

#: e²/(4πε₀) in eV Å as LAMMPS's ``units metal`` defines it (qqr2e). CODATA gives
#: 14.3996454784...; the 3e-8 relative difference is below every tolerance except the
#: 1e-6 eV/atom comparison with LAMMPS, which therefore uses LAMMPS's constant.
COULOMB_LAMMPS = 14.399645


def _images(cell: np.ndarray, cutoff: float) -> np.ndarray:
    """Integer lattice translations that reach every point within ``cutoff`` of the cell."""
    reciprocal = np.linalg.inv(cell).T  # rows: reciprocal vectors without 2π
    reach = [int(np.ceil(cutoff * np.linalg.norm(b))) + 1 for b in reciprocal]
    return np.array(list(itertools.product(*(range(-n, n + 1) for n in reach))), dtype=float)


def ewald_energy(
    positions: np.ndarray,
    cell: np.ndarray,
    charges: np.ndarray,
    alpha: float = 0.35,
    real_cutoff: float = 14.0,
    k_cutoff: float = 5.0,
    coulomb_constant: float = COULOMB_LAMMPS,
) -> float:
    """Ewald energy (eV) of point charges (e) in a periodic cell (Å); must be neutral.

    E = ½ Σ_ij Σ_n' q_i q_j erfc(α r)/r + (2π/V) Σ_k≠0 e^{−k²/4α²}/k² |S(k)|² − α/√π Σ q².
    With α = 0.35 Å⁻¹, erfc(α r_c) ~ 1e-11 and e^{−k_c²/4α²} ~ 1e-22.
    """
    volume = abs(np.linalg.det(cell))
    lattice = _images(cell, real_cutoff) @ cell
    real = 0.0
    for i, j in itertools.product(range(len(positions)), repeat=2):
        r = np.linalg.norm(positions[j] - positions[i] + lattice, axis=1)
        r = r[(r > 1e-10) & (r < real_cutoff)]
        real += 0.5 * charges[i] * charges[j] * (erfc(alpha * r) / r).sum()
    recip_cell = 2 * np.pi * np.linalg.inv(cell).T
    kvecs = _images(recip_cell, k_cutoff) @ recip_cell
    k2 = (kvecs**2).sum(axis=1)
    keep = (k2 > 1e-12) & (k2 < k_cutoff**2)
    kvecs, k2 = kvecs[keep], k2[keep]
    structure = (charges[None, :] * np.exp(1j * kvecs @ positions.T)).sum(axis=1)
    recip = (2 * np.pi / volume) * (np.exp(-k2 / (4 * alpha**2)) / k2 * np.abs(structure) ** 2).sum()
    self_term = -alpha / np.sqrt(np.pi) * (charges**2).sum()
    return coulomb_constant * (real + recip + self_term)


def buckingham_energy(
    positions: np.ndarray,
    cell: np.ndarray,
    symbols: list[str],
    params: dict[frozenset, tuple[float, float, float]],
    cutoff: float,
    only_atom: int | None = None,
) -> float:
    """Σ_{i<j, images} A e^{−r/ρ} − C/r⁶ (eV), truncated (not shifted) at ``cutoff`` (Å).

    With ``only_atom=i``: that atom's share, ½ Σ_j φ(r_ij).
    """
    lattice = _images(cell, cutoff) @ cell
    energy = 0.0
    first = range(len(positions)) if only_atom is None else [only_atom]
    for i, j in itertools.product(first, range(len(positions))):
        pair = params.get(frozenset((symbols[i], symbols[j])))
        if pair is None:
            continue
        A, rho, C = pair
        r = np.linalg.norm(positions[j] - positions[i] + lattice, axis=1)
        r = r[(r > 1e-10) & (r < cutoff)]
        energy += 0.5 * (A * np.exp(-r / rho) - C / r**6).sum()
    return energy


VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def position_derivative(energy, atoms, step: float = 1e-5) -> np.ndarray:
    """−∂E/∂r (the forces), shape (N, 3, *E's shape), by central differences of
    ``energy(atoms)``; ``energy`` may return an array (one derivative per entry)."""
    columns = []
    for i in range(len(atoms)):
        for a in range(3):
            energies = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[i, a] += sign * step
                energies.append(np.asarray(energy(moved)))
            columns.append(-(energies[0] - energies[1]) / (2 * step))
    return np.array(columns).reshape(len(atoms), 3, *np.shape(columns[0]))


def strain_derivative(energy, atoms, step: float = 1e-5) -> np.ndarray:
    """(1/V) ∂E/∂ε in Voigt order (ASE's stress) by central differences of ``energy(atoms)``
    under symmetric strains; ``energy`` may return an array (one derivative per entry).

    Off-diagonal: ε_ab = ε_ba = step/2, so dE/dstep = ½ (∂E/∂ε_ab + ∂E/∂ε_ba) = V σ_ab.
    """
    derivatives = []
    for a, b in VOIGT:
        strain = np.zeros((3, 3))
        strain[a, b] = strain[b, a] = 1.0
        energies = []
        for sign in (1, -1):
            deformation = np.eye(3) + sign * step * strain / (2 if a != b else 1)
            strained = atoms.copy()
            strained.set_cell(atoms.cell.array @ deformation)
            strained.positions = atoms.positions @ deformation
            energies.append(np.asarray(energy(strained)))
        derivatives.append((energies[0] - energies[1]) / (2 * step) / atoms.get_volume())
    return np.array(derivatives)


def sheared_wurtzite():
    """A rattled, sheared 2×1×1 wurtzite ZnO cell (8 atoms), one atom outside the cell."""
    from ase.build import bulk

    atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat((2, 1, 1))
    cell = atoms.cell.array.copy()
    cell[2] += 0.4 * cell[0] - 0.3 * cell[1]
    atoms.set_cell(cell, scale_atoms=True)
    atoms.rattle(0.15, seed=3)
    atoms.positions[0] -= cell[2]
    return atoms
