"""The order parameter of the sampling: the mean cation–anion coordination number, and its gradient.

    CN = (1/N_cation) Σ_{i∈cations} Σ_{j∈anions} Σ_images [s(r_ij) − s(r_c)]  for r_ij < r_c,
    s(r) = (1 − (r/r₀)ⁿ) / (1 − (r/r₀)²ⁿ),  n = 6 (Colvars' coordNum default, m = 2n).

Cations and anions are the species of positive and negative formal charge
(:class:`ionnp.chemistry.Chemistry`); in a compound that is not 1:1 CN is the mean number of
anions around a cation (8 in fluorite CaF2, 9 in cotunnite), and r₀ is one distance for every
cation–anion pair (``sampling.metadynamics.cv_r0``: between the first and second shell).

Every periodic image within r_c = ``reach``·r₀ counts, and s is shifted to vanish at r_c so
CN is continuous. Colvars' ``coordNum`` uses one minimum-image distance per pair instead,
which in the 8–16-atom cells that DFT can label misses most of the first shell (a rocksalt
8-atom cell gives 2.4 instead of ≈ 6): that is why the sampling computes the CV here and
biases it through ``fix external``. For ZnO with r₀ = 2.6 Å: ≈ 4 in wurtzite and zinc blende,
≈ 5 in 5-5 (h-MgO), ≈ 6 in rocksalt.

:meth:`CoordinationCV.evaluate` (CN and its derivatives) and :meth:`CoordinationCV.value`
(CN alone) search the pairs afresh (vesin) at every call. Along a trajectory, :class:`VerletCoordination` keeps the pairs within r_c + skin and searches again
only when atom motion or cell strain could have brought an unlisted pair inside r_c, so the
value stays the exact all-image CN at a fraction of the cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from vesin import NeighborList

from ionnp.chemistry import species_indices

CVGradients = tuple[float, np.ndarray, np.ndarray]
"""CN, ∂CN/∂r (1/Å, shape (N, 3)) and Σ_pairs d ⊗ ∂CN/∂d (3×3, dimensionless)."""


def switching(r: np.ndarray, r0: float, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """s(r) and ds/dr (1/Å) of the switching function with m = 2n; r, r₀ in Å.

    (1 − xⁿ)/(1 − x²ⁿ) = 1/(1 + xⁿ) with x = r/r₀: the second form has no 0/0 at r = r₀.
    """
    x = np.asarray(r, dtype=float) / r0
    xn = x**n
    value = 1.0 / (1.0 + xn)
    return value, -n * xn / x * value**2 / r0


@dataclass(frozen=True)
class PairList:
    """Cation–anion pairs, every periodic image, each oriented from the cation to the anion.

    Attributes:
        cation, anion: atom index of each pair's cation and anion, shape (P,).
        shift: cell shift S of each pair, shape (P, 3): d = r_anion − r_cation + S·cell.
        scatter: flat indices into an (N, 3) array of the rows ``anion`` then ``cation``,
            component by component, shape (6P,): sums per-pair vectors onto atoms with
            one :func:`numpy.bincount`.
    """

    cation: np.ndarray
    anion: np.ndarray
    shift: np.ndarray
    scatter: np.ndarray

    @classmethod
    def search(cls, positions: np.ndarray, cell: np.ndarray, is_cation: np.ndarray,
               is_anion: np.ndarray, cutoff: float) -> "PairList":
        """Pairs closer than ``cutoff`` (Å); positions (N, 3) and cell rows (3, 3) in Å."""
        i, j, shift = NeighborList(cutoff=cutoff, full_list=False).compute(
            points=positions, box=cell, periodic=True, quantities="ijS")
        i, j = i.astype(np.intp), j.astype(np.intp)  # vesin gives unsigned indices
        forward = is_cation[i] & is_anion[j]
        backward = is_anion[i] & is_cation[j]
        cation = np.concatenate([i[forward], j[backward]])
        anion = np.concatenate([j[forward], i[backward]])
        shift = np.concatenate([shift[forward], -shift[backward]]).astype(float)
        rows = np.concatenate([anion, cation])
        scatter = (3 * rows[:, None] + np.arange(3)).ravel()
        return cls(cation, anion, shift, scatter)

    def difference(self, values: np.ndarray) -> np.ndarray:
        """Per-atom rows (N, k) differenced over the pairs, anion − cation: shape (P, k)."""
        return np.take(values, self.anion, axis=0) - np.take(values, self.cation, axis=0)

    def vectors(self, positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """Pair vectors d = r_anion − r_cation + S·cell (Å), shape (P, 3)."""
        return self.difference(positions) + self.shift @ cell

    def gather(self, pair_vectors: np.ndarray, n_atoms: int) -> np.ndarray:
        """Σ over pairs of +v on the anion and −v on the cation, shape (n_atoms, 3)."""
        weights = np.concatenate([pair_vectors, -pair_vectors]).ravel()
        return np.bincount(self.scatter, weights, minlength=3 * n_atoms).reshape(n_atoms, 3)


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
    r0: float
    reach: float = 2.0
    n: int = 6

    @classmethod
    def for_atoms(cls, atoms: Atoms, cations: Sequence[str], anions: Sequence[str], r0: float,
                  **kwargs) -> "CoordinationCV":
        """The CV of the pairs of a ``cations`` and an ``anions`` atom of ``atoms`` (chemical
        symbols), switching at ``r0`` (Å)."""
        return cls(species_indices(atoms, cations), species_indices(atoms, anions), r0, **kwargs)

    @property
    def cutoff(self) -> float:
        """r_c (Å)."""
        return self.reach * self.r0

    def species(self, n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks (N,) of the cations and of the anions."""
        is_cation = np.zeros(n_atoms, dtype=bool)
        is_cation[self.cations] = True
        is_anion = np.zeros(n_atoms, dtype=bool)
        is_anion[self.anions] = True
        return is_cation, is_anion

    def search(self, positions: np.ndarray, cell: np.ndarray, cutoff: float) -> PairList:
        """Cation–anion pairs closer than ``cutoff`` (Å)."""
        return PairList.search(positions, cell, *self.species(len(positions)), cutoff)

    def value(self, positions: np.ndarray, cell: np.ndarray) -> float:
        """CN alone, from a fresh vesin neighbour list; positions (N, 3), cell rows (3, 3), Å."""
        i, j, r = NeighborList(cutoff=self.cutoff, full_list=False).compute(
            points=positions, box=cell, periodic=True, quantities="ijd")
        is_cation, is_anion = self.species(len(positions))
        pairs = (is_cation[i] & is_anion[j]) | (is_anion[i] & is_cation[j])
        s = 1.0 / (1.0 + self._xn(r[pairs] ** 2))  # every pair is within r_c
        return float((s.sum() - self._s_cut * len(s)) / len(self.cations))

    def evaluate(self, positions: np.ndarray, cell: np.ndarray) -> CVGradients:
        """CN, its gradient ∂CN/∂r (1/Å, shape (N, 3)) and Σ_pairs d ⊗ ∂CN/∂d (3×3).

        The last term turns a bias U(CN) into its virial: W = −U'(CN) Σ d ⊗ ∂CN/∂d.
        Pairs come from a fresh vesin neighbour list (every image within the cut-off).
        """
        pairs = self.search(positions, cell, self.cutoff)
        return self.from_pairs(pairs, pairs.vectors(positions, cell), len(positions))

    def from_pairs(self, pairs: PairList, vectors: np.ndarray, n_atoms: int) -> CVGradients:
        """As :meth:`evaluate`, from ``pairs`` and their vectors d (Å, shape (P, 3)); pairs
        beyond r_c add nothing."""
        shifted, slope = self._switching(np.einsum("pk,pk->p", vectors, vectors))
        n_cations = len(self.cations)
        pair_grad = (slope / n_cations)[:, None] * vectors  # ∂CN/∂d = (ds/dr)/r · d / N_cation
        gradient = pairs.gather(pair_grad, n_atoms)
        return float(shifted.sum() / n_cations), gradient, vectors.T @ pair_grad

    @property
    def _s_cut(self) -> float:
        """s(r_c)."""
        return 1.0 / (1.0 + self.reach**self.n)

    def _xn(self, r2: np.ndarray) -> np.ndarray:
        """(r/r₀)ⁿ from squared distances r2 (Å²)."""
        xn = _integer_power(r2 / self.r0**2, self.n // 2)
        return xn * np.sqrt(r2) / self.r0 if self.n % 2 else xn

    def _switching(self, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """s(r) − s(r_c) and (ds/dr)/r (1/Å²) of pairs at squared distances r2 (Å²), both 0
        from r_c on. (ds/dr)/r = −n xⁿ s² / r² with x = r/r₀ (see :func:`switching`)."""
        xn = self._xn(r2)
        s = 1.0 / (1.0 + xn)
        inside = r2 < self.cutoff**2
        slope = -self.n * xn * s * s / r2
        return np.where(inside, s - self._s_cut, 0.0), np.where(inside, slope, 0.0)


def _integer_power(base: np.ndarray, exponent: int) -> np.ndarray:
    """``base**exponent`` (exponent ≥ 0) by repeated multiplication, ~10× faster than numpy's
    pow on short arrays."""
    result = base if exponent else np.ones_like(base)
    for _ in range(exponent - 1):
        result = result * base
    return result


class VerletCoordination:
    """:meth:`CoordinationCV.evaluate` along a trajectory, with a Verlet list of pairs.

    The list holds every cation–anion pair within r_c + ``skin`` of a reference
    configuration (fractional positions f₀, cell h₀; rows are cell vectors). Later pair
    vectors follow the atoms through their fractional displacements δ (wrapped to the
    nearest image, so LAMMPS's re-wrapping of atoms into the box is harmless):

        d = (f₀,anion − f₀,cation + S + δ_anion − δ_cation) h = d₀ (1 + ε) + u_anion − u_cation,

    with the cell strain ε = h₀⁻¹h − 1 and the displacements u = δ h. An unlisted pair
    (|d₀| ≥ r_c + skin) then has |d| ≥ (r_c + skin)(1 − ‖ε‖_F) − 2 max|u − ū|, so the list is
    searched again as soon as 2 max|u − ū| + (r_c + skin)‖ε‖_F exceeds the skin: every pair
    within r_c is always listed and the CN is exact (ū removes a common translation).

    Args:
        cv: the collective variable.
        skin: Verlet skin (Å); 0 searches at every call.
    """

    def __init__(self, cv: CoordinationCV, skin: float = 1.0) -> None:
        self.cv, self.skin = cv, skin
        self.searches = 0
        self._pairs: PairList | None = None
        self._fractional = np.empty((0, 3))  # f₀, (N, 3)
        self._offsets = np.empty((0, 3))  # f₀,anion − f₀,cation + S, (P, 3)
        self._cell = np.eye(3)  # h₀
        self._inverse_cell = np.eye(3)  # h₀⁻¹

    def evaluate(self, positions: np.ndarray, cell: np.ndarray) -> CVGradients:
        """As :meth:`CoordinationCV.evaluate`; positions (N, 3), cell rows (3, 3), in Å."""
        fractional = positions @ np.linalg.inv(cell)
        if self._pairs is None:
            self._search(positions, fractional, cell)
        displacement = fractional - self._fractional
        displacement -= np.rint(displacement)  # δ, to the nearest image
        if self._moved_too_far(displacement, cell):
            self._search(positions, fractional, cell)
            displacement[:] = 0.0
        vectors = (self._offsets + self._pairs.difference(displacement)) @ cell
        return self.cv.from_pairs(self._pairs, vectors, len(positions))

    def _moved_too_far(self, displacement: np.ndarray, cell: np.ndarray) -> bool:
        """Whether an unlisted pair may have come within r_c (see the class docstring)."""
        moves = displacement @ cell
        moves -= moves.sum(axis=0) / len(moves)
        largest = math.sqrt(np.einsum("ik,ik->i", moves, moves).max())
        strain = self._inverse_cell @ (cell - self._cell)
        strain_norm = math.sqrt(np.einsum("ij,ij->", strain, strain))
        return 2.0 * largest + (self.cv.cutoff + self.skin) * strain_norm > self.skin

    def _search(self, positions: np.ndarray, fractional: np.ndarray, cell: np.ndarray) -> None:
        """Make this configuration the reference and list its pairs within r_c + skin."""
        pairs = self.cv.search(positions, cell, self.cv.cutoff + self.skin)
        self._fractional = fractional
        self._offsets = pairs.difference(fractional) + pairs.shift
        self._cell, self._inverse_cell = cell.copy(), np.linalg.inv(cell)
        self._pairs = pairs
        self.searches += 1


def coordination_number(atoms: Atoms, cations: Sequence[str], anions: Sequence[str], r0: float) -> float:
    """Mean number of ``anions`` atoms around a ``cations`` atom (see :class:`CoordinationCV`)."""
    cv = CoordinationCV.for_atoms(atoms, cations, anions, r0=r0)
    return cv.value(atoms.positions, atoms.cell.array)
