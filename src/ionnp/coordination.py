"""The order parameter of the sampling: the mean Zn–O coordination number, and its gradient.

    CN = (1/N_Zn) Σ_{i∈Zn} Σ_{j∈O} Σ_images [s(r_ij) − s(r_c)]  for r_ij < r_c,
    s(r) = (1 − (r/r₀)ⁿ) / (1 − (r/r₀)²ⁿ),  n = 6 (Colvars' coordNum default, m = 2n).

Every periodic image within r_c = ``reach``·r₀ counts, and s is shifted to vanish at r_c so
CN is continuous. Colvars' ``coordNum`` uses one minimum-image distance per pair instead,
which in the 8–16-atom cells that DFT can label misses most of the first shell (a rocksalt
8-atom cell gives 2.4 instead of ≈ 6): that is why the sampling computes the CV here and
biases it through ``fix external``. For r₀ = 2.6 Å: ≈ 4 in wurtzite and zinc blende, ≈ 5 in
5-5 (h-MgO), ≈ 6 in rocksalt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from vesin import NeighborList


def switching(r: np.ndarray, r0: float, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """s(r) and ds/dr (1/Å) of the switching function with m = 2n; r, r₀ in Å.

    (1 − xⁿ)/(1 − x²ⁿ) = 1/(1 + xⁿ) with x = r/r₀: the second form has no 0/0 at r = r₀.
    """
    x = np.asarray(r, dtype=float) / r0
    xn = x**n
    value = 1.0 / (1.0 + xn)
    return value, -n * xn / x * value**2 / r0


@dataclass(frozen=True)
class CoordinationCV:
    """Mean cation–anion coordination number over all periodic images.

    Attributes:
        cations, anions: atom indices of each species.
        r0: switching distance (Å).
        reach: cut-off in units of r₀ (s is shifted to 0 there).
        n: switching exponent (m = 2n).
    """

    cations: np.ndarray
    anions: np.ndarray
    r0: float = 2.6
    reach: float = 2.0
    n: int = 6

    @classmethod
    def for_atoms(cls, atoms: Atoms, cation: str = "Zn", anion: str = "O", **kwargs) -> "CoordinationCV":
        symbols = np.array(atoms.get_chemical_symbols())
        return cls(np.flatnonzero(symbols == cation), np.flatnonzero(symbols == anion), **kwargs)

    def evaluate(self, positions: np.ndarray, cell: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """CN, its gradient ∂CN/∂r (1/Å, shape (N, 3)) and Σ_pairs d ⊗ ∂CN/∂d (3×3).

        The last term turns a bias U(CN) into its virial: W = −U'(CN) Σ d ⊗ ∂CN/∂d.
        Pairs come from vesin's neighbour list (every image within the cut-off).
        """
        cutoff = self.reach * self.r0
        i, j, d = NeighborList(cutoff=cutoff, full_list=False).compute(
            points=positions, box=cell, periodic=True, quantities="ijD")
        is_cation = np.zeros(len(positions), dtype=bool)
        is_cation[self.cations] = True
        is_anion = np.zeros(len(positions), dtype=bool)
        is_anion[self.anions] = True
        forward = is_cation[i] & is_anion[j]
        backward = is_anion[i] & is_cation[j]
        # Orient every cation–anion pair vector from the cation to the anion.
        cation = np.concatenate([i[forward], j[backward]])
        anion = np.concatenate([j[forward], i[backward]])
        d = np.concatenate([d[forward], -d[backward]])
        r = np.linalg.norm(d, axis=1)
        s, ds = switching(r, self.r0, self.n)
        s_cut, _ = switching(np.array(cutoff), self.r0, self.n)
        n_cations = len(self.cations)
        pair_grad = (ds / r / n_cations)[:, None] * d  # ∂CN/∂d
        gradient = np.zeros_like(positions)
        np.add.at(gradient, anion, pair_grad)
        np.add.at(gradient, cation, -pair_grad)
        value = float((s - s_cut).sum() / n_cations)
        return value, gradient, d.T @ pair_grad

def coordination_number(atoms: Atoms, r0: float = 2.6, cation: str = "Zn", anion: str = "O") -> float:
    """Mean number of anions around a cation (see :class:`CoordinationCV`)."""
    cv = CoordinationCV.for_atoms(atoms, cation, anion, r0=r0)
    return cv.evaluate(atoms.positions, atoms.cell.array)[0]
