"""Choosing the effective charge q from reference data and explicit Coulomb alone.

The NNP is E = E_NN,short + q² E_C(1), with E_C(1) the Ewald energy at the unit charges
z_s / z_ref (:class:`ionnp.chemistry.Chemistry`; ZnO: +1 Zn, −1 O); forces and stress scale the
same way. For every candidate q the short-range model has
to learn the residual

    y(q) = y_ref − q² y_C(1),   y ∈ {E, F, σ},

and this module measures, without training an NNP, how plausible each q is (docs/method.md §5).
Every metric is computed for a grid of q and goes into one
table (:func:`charge_scan`); :func:`pick_q` chooses q_eff from the table by a named method.

* ``least_squares_*``: the raw residual y(q), with no short-range model at all. Its RMS is
  minimal at the closed form q² = Σ y_ref y_C / Σ y_C² (:func:`least_squares_q2`). For
  energies the per-atom energies enter relative to their mean over the structures, i.e. an
  intercept (the atomic reference energy per atom) is fitted with q²: the composition is
  fixed (the campaign's formula unit), so per-atom energies of different structures are comparable. Forces and
  stress need no differencing. These fits include the short-range part of y_ref in what q²
  has to explain, and are reported as they are.
* ``learnability``: the cross-validated error of a linear short-range model, a radial pair
  basis per species pair inside the NNP cut-off plus a constant per species
  (:class:`PairBasis`) and a free isotropic stress intercept, fitted by weighted least squares
  to energies, forces and stress of y(q) together. Cross-validation leaves one stratum out at a
  time (``cv: grouped``: a sampling run's phase, temperature and pressure, or one phase's
  equation-of-state cells; :func:`ionnp.frames.stratum`), so frames of one run never sit on
  both sides of a fit; ``cv: random`` cuts the structures into K random folds. Its optimum
  comes with a bootstrap interval over the held-out strata (:func:`learnability_interval`),
  and is ``undetermined`` where that interval is wider than ``max_interval``.
* ``spread``: the standard deviation across phases of the phase-mean residual per-atom
  energy (E_ref − q² E_C(1))/N.

Why the whole scan costs about one fit: the design matrix does not depend on q and the
target is linear in q², so per fold the coefficients are θ(q) = θ_ref − q² θ_C, with θ_ref and
θ_C from one factorisation of the training rows, and the validation residual is u − q² v.
Every squared metric of the table is therefore an exact quadratic in q², which
:func:`pick_q` uses to place the optimum between grid points.

Measured on labels of Buckingham + Coulomb at charges ±q_true (tests/charges/test_scan.py: 60
strained and rattled 8–16-atom cells of five phases at 0–20 GPa), default settings: the
learnability optimum lies within 0.003 e of q_true = 0.6, 1.0 and 1.4 (the O–O C/r⁶ tail
beyond the 6 Å cut-off is what the linear model cannot learn). The raw least squares give
q² < 0 there, because the Born–Mayer energies, forces and stresses oppose the Coulomb ones,
and the spread is smallest at q = 0.

Units: energies eV, forces eV/Å, stress eV/Å³ (Voigt xx yy zz yz xz xy, ASE sign: positive
under tension) in; the table reports meV/atom, meV/Å and GPa. The fits are LAPACK calls
through numpy: on a shared node run with ``OPENBLAS_NUM_THREADS=1`` (OpenBLAS's threads
made them ~30× slower under contention here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms
from ase.units import GPa
from vesin import NeighborList

from ionnp.charges.coulomb import CoulombResult
from ionnp.frames import stratum
from ionnp.voigt import VOIGT

#: Row blocks of the design matrix, in this order (index = block id).
BLOCKS = ("energy", "forces", "stress")
#: Factors from eV/atom, eV/Å and eV/Å³ to the reported meV/atom, meV/Å and GPa.
_REPORT_SCALE = np.array([1000.0, 1000.0, 1.0 / GPa])

#: Table columns: the value of every metric per q, with units.
COLUMNS = {
    "q": "effective charge (e)",
    "raw_energy_mev_per_atom": "RMS over structures of (E_ref − q² E_C(1))/N minus its mean",
    "raw_force_mev_per_a": "RMS over force components of F_ref − q² F_C(1)",
    "raw_stress_gpa": "RMS over Voigt components of σ_ref − q² σ_C(1)",
    "cv_energy_mev_per_atom": "cross-validated RMSE of the linear short-range model, E/N",
    "cv_force_mev_per_a": "cross-validated RMSE of the linear short-range model, forces",
    "cv_stress_gpa": "cross-validated RMSE of the linear short-range model, stress",
    "cv_score": "√(Σ_k w_k RMSE_k²) of the three cross-validated RMSEs (weights of the fit)",
    "spread_mev_per_atom": "std across phases of the phase-mean (E_ref − q² E_C(1))/N",
}
#: Ways of cutting the structures into cross-validation folds (:attr:`ScanSettings.cv`).
CV_KINDS = ("grouped", "random")
#: :func:`pick_q` methods and the table column each one minimises.
METHODS = {
    "least_squares_energy": "raw_energy_mev_per_atom",
    "least_squares_forces": "raw_force_mev_per_a",
    "least_squares_stress": "raw_stress_gpa",
    "learnability": "cv_score",
    "spread": "spread_mev_per_atom",
}


@dataclass(frozen=True)
class ReferenceStructure:
    """One structure of the reference set with its unit-charge Coulomb terms.

    Attributes:
        atoms: the structure (Å); every element must be one of the scan's elements.
        phase: polymorph label (for the spread across phases).
        energy: reference energy (eV).
        forces: reference forces, shape (N, 3) (eV/Å).
        stress: reference stress, shape (6,), Voigt, ASE sign (eV/Å³).
        coulomb_unit: Ewald energy, forces, stress at charges ±1 (:func:`ionnp.charges.coulomb.coulomb`).
        group: the stratum the structure belongs to (grouped cross-validation leaves one
            group out at a time); by default its phase.
    """

    atoms: Atoms
    phase: str
    energy: float
    forces: np.ndarray
    stress: np.ndarray
    coulomb_unit: CoulombResult
    group: str = ""

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", self.phase)
        self._check_shapes()

    def _check_shapes(self) -> None:
        n = len(self.atoms)
        shapes = {"forces": np.shape(self.forces), "stress": np.shape(self.stress),
                  "Coulomb forces": np.shape(self.coulomb_unit.forces),
                  "Coulomb stress": np.shape(self.coulomb_unit.stress)}
        expected = {"forces": (n, 3), "stress": (6,), "Coulomb forces": (n, 3),
                    "Coulomb stress": (6,)}
        wrong = {k: v for k, v in shapes.items() if v != expected[k]}
        if wrong:
            raise ValueError(f"{self.atoms.get_chemical_formula()} ({self.phase}): shapes "
                             f"{wrong}, expected {({k: expected[k] for k in wrong})}")

    @classmethod
    def from_atoms(
        cls, atoms: Atoms, coulomb_unit: CoulombResult, phase_key: str = "phase"
    ) -> ReferenceStructure:
        """From labelled ``atoms`` (a calculator with energy, forces and stress, as read back
        from a frames file) and ``atoms.info[phase_key]``; the group is the frame's
        :func:`ionnp.frames.stratum` where its ``info`` has one, else the phase."""
        phase = str(atoms.info[phase_key])
        try:
            group = stratum(atoms)
        except KeyError:
            group = phase
        return cls(
            atoms=atoms,
            phase=phase,
            energy=float(atoms.get_potential_energy()),
            forces=np.asarray(atoms.get_forces(), dtype=float),
            stress=np.asarray(atoms.get_stress(voigt=True), dtype=float),
            coulomb_unit=coulomb_unit,
            group=group,
        )


@dataclass(frozen=True)
class PairFeatures:
    """Pair-basis features of one structure; F = n_species_pairs × n_functions columns,
    species pair major (pairs in :attr:`PairBasis.pairs` order).

    Attributes:
        energy: Σ_pairs b_k(r), shape (F,) (eV per unit coefficient).
        forces: −∂energy/∂r_i, shape (N, 3, F) (eV/Å).
        stress: (1/V) ∂energy/∂ε = (1/V) Σ_pairs b_k'(r) d⊗d / r, Voigt, shape (6, F) (eV/Å³).
    """

    energy: np.ndarray
    forces: np.ndarray
    stress: np.ndarray


@dataclass(frozen=True)
class PairBasis:
    """Radial pair basis: b_k(r) = T_k(x) f_c(r) per unordered species pair, k < n_functions.

    T_k are Chebyshev polynomials of x = 2(r − r_min)/(r_c − r_min) − 1, and
    f_c(r) = ½(cos(πr/r_c) + 1) for r < r_c (the NNP's cut-off function), zero beyond: each
    pair potential of the model is f_c(r) times a polynomial of degree n_functions − 1 in r,
    short-ranged with smooth forces. The span does not depend on ``r_min``, only the
    conditioning does (and the ridge, which acts on the Chebyshev coefficients): put
    [r_min, r_c] around the pair distances of the data. A polynomial represents the steep
    Born–Mayer repulsion and the smooth tails alike; Gaussians of fixed width need large
    alternating coefficients for the former and overfit under cross-validation.

    Attributes:
        elements: chemical symbols; species pairs are (a, b) with a ≤ b in this order.
        cutoff: r_c (Å).
        n_functions: polynomials per species pair.
        r_min: inner end of the Chebyshev interval (Å).
    """

    elements: tuple[str, ...]
    cutoff: float = 6.0
    n_functions: int = 16
    r_min: float = 1.0

    def __post_init__(self) -> None:
        if self.n_functions < 2 or not 0 <= self.r_min < self.cutoff:
            raise ValueError(f"pair basis needs n_functions ≥ 2 and 0 ≤ r_min < cutoff, not "
                             f"{self.n_functions}, {self.r_min}, {self.cutoff}")

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """Unordered species pairs, e.g. [(Zn, Zn), (Zn, O), (O, O)]."""
        e = self.elements
        return [(e[a], e[b]) for a in range(len(e)) for b in range(a, len(e))]

    @property
    def n_features(self) -> int:
        """Columns of :class:`PairFeatures` (species constants excluded)."""
        return len(self.pairs) * self.n_functions

    def radial(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """b_k(r) and db_k/dr (Å⁻¹), each of shape (P, n_functions), for distances r (P,) (Å)."""
        chebyshev = np.polynomial.chebyshev
        dx_dr = 2.0 / (self.cutoff - self.r_min)
        x = dx_dr * (r - self.r_min) - 1.0
        values = chebyshev.chebvander(x, self.n_functions - 1)
        # Column k of chebder(I): dT_k/dx in the Chebyshev basis of one degree less.
        slopes = chebyshev.chebvander(x, self.n_functions - 2) @ chebyshev.chebder(
            np.eye(self.n_functions)) * dx_dr
        inside = r < self.cutoff
        angle = np.pi * r / self.cutoff
        fc = np.where(inside, 0.5 * (np.cos(angle) + 1.0), 0.0)[:, None]
        dfc = np.where(inside, -0.5 * np.pi / self.cutoff * np.sin(angle), 0.0)[:, None]
        return values * fc, slopes * fc + values * dfc

    def features(self, atoms: Atoms) -> PairFeatures:
        """Energy, force and stress features of ``atoms`` (periodic, elements in the basis)."""
        species = _species(atoms, self.elements)
        i, j, d = NeighborList(cutoff=self.cutoff, full_list=False).compute(
            atoms.positions, atoms.cell.array, True, "ijD"
        )
        r = np.linalg.norm(d, axis=1)
        value, derivative = self.radial(r)
        gradient = derivative / r[:, None]  # (db/dr)/r: the pair's force on i is +gradient·d
        n_atoms, n = len(atoms), self.n_functions
        # incidence[a, p] = +1 if a is i of pair p, −1 if a is j (0 for an atom and its image).
        incidence = np.zeros((n_atoms, len(r)))
        np.add.at(incidence, (i, np.arange(len(r))), 1.0)
        np.add.at(incidence, (j, np.arange(len(r))), -1.0)
        outer = d[:, VOIGT[0]] * d[:, VOIGT[1]]  # (P, 6)
        energy = np.zeros(self.n_features)
        forces = np.zeros((n_atoms, 3, self.n_features))
        stress = np.zeros((6, self.n_features))
        low, high = np.minimum(species[i], species[j]), np.maximum(species[i], species[j])
        for index, (a, b) in enumerate(self.pairs):
            pairs = (low == self.elements.index(a)) & (high == self.elements.index(b))
            columns = slice(index * n, (index + 1) * n)
            pull = d[pairs, :, None] * gradient[pairs, None, :]  # (P_ab, 3, n)
            energy[columns] = value[pairs].sum(axis=0)
            forces[:, :, columns] = np.tensordot(incidence[:, pairs], pull, axes=1)
            stress[:, columns] = outer[pairs].T @ gradient[pairs]
        return PairFeatures(energy, forces, stress / atoms.get_volume())


@dataclass(frozen=True)
class ScanSettings:
    """Grid, model and cross-validation of the charge scan.

    Attributes:
        q_min, q_max, q_step: the q grid (e), both ends included.
        basis: the linear short-range model's pair basis (its cut-off is the NNP's).
        cv: ``"grouped"``: leave one group (stratum) out at a time; ``"random"``: K random
            folds of structures.
        folds: K of ``cv: random``.
        seed: seed of the random folds and of the bootstrap.
        energy_weight, forces_weight, stress_weight: w_k of the fit and of ``cv_score``, per
            squared reported unit: (meV/atom)⁻², (meV/Å)⁻², GPa⁻². The defaults count
            1 meV/atom, 10 meV/Å and 0.1 GPa alike.
        ridge: λ of the fit's penalty λ Σ θ_j² on the pair-basis coefficients θ_j (eV), in
            units of the weighted loss per eV²; the species constants are not penalised. It
            only keeps the fit well posed where the training pairs leave a polynomial
            unconstrained; on the synthetic tests q_eff moves by < 0.002 e between 1e-8
            and 1e-6.
        stress_intercept: fit a free isotropic stress offset common to all structures (see
            :func:`linear_system`).
        bootstrap: resamples of the held-out groups (``cv: random``: structures) for the
            interval of the learnability optimum.
        confidence: the interval's coverage (central, percentile bootstrap).
        max_interval: the optimum is ``undetermined`` where the interval is wider (e).
    """

    basis: PairBasis
    q_min: float = 0.0
    q_max: float = 2.0
    q_step: float = 0.05
    cv: str = "grouped"
    folds: int = 5
    seed: int = 0
    energy_weight: float = 1.0
    forces_weight: float = 0.01
    stress_weight: float = 100.0
    ridge: float = 1e-8
    stress_intercept: bool = True
    bootstrap: int = 1000
    confidence: float = 0.95
    max_interval: float = 0.5

    def __post_init__(self) -> None:
        if self.cv not in CV_KINDS:
            raise ValueError(f"charges.cv: {self.cv!r} is not one of {CV_KINDS}")
        if self.bootstrap < 1 or not 0 < self.confidence < 1:
            raise ValueError(f"charges.bootstrap ≥ 1 and 0 < charges.confidence < 1, not "
                             f"{self.bootstrap}, {self.confidence}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any], elements: Sequence[str]) -> ScanSettings:
        """From the fields of this class in ``section`` (``basis``: a mapping of
        :class:`PairBasis` fields without ``elements``; other keys, such as the rest of the
        ``charges`` config section, are not the scan's) and the chemistry's ``elements``."""
        fields = {key: value for key, value in section.items() if key in cls.__dataclass_fields__}
        fields["basis"] = PairBasis(tuple(elements), **dict(section.get("basis", {})))
        return cls(**fields)

    def with_finetune_weights(self, weights: Mapping[str, float],
                              structures: Sequence[ReferenceStructure]) -> ScanSettings:
        """These settings with the fine-tuning loss's weights (``charges.loss_weights:
        finetune``; ``weights`` keyed by :data:`ionnp.train.settings.FINETUNE_LOSS_WEIGHTS`:
        energy_weight, forces_weight, stress_weight), so that the scan judges q by the loss the
        NNP is fine-tuned on.

        Fine-tuning weighs w_E (ΔE/N)² + w_F ΔF² + w_σ (Δσ V/N)² in eV units; in the scan's
        units (meV/atom, meV/Å, GPa) and scaled by 10⁶ that is w_E, w_F and
        w_σ (GPa · V/N)² · 10⁶, V/N the root-mean-square volume per atom of ``structures`` (Å³).
        """
        volume = float(np.sqrt(np.mean([(s.atoms.get_volume() / len(s.atoms)) ** 2 for s in structures])))
        return replace(self, energy_weight=weights["energy_weight"], forces_weight=weights["forces_weight"],
                       stress_weight=weights["stress_weight"] * (GPa * volume) ** 2 * 1e6)

    @property
    def grid(self) -> np.ndarray:
        """q values (e), shape (n_q,): q_min, q_min + q_step, …, q_max."""
        n = int(round((self.q_max - self.q_min) / self.q_step)) + 1
        return self.q_min + self.q_step * np.arange(n)

    @property
    def weights(self) -> np.ndarray:
        """(w_energy, w_forces, w_stress), in :data:`BLOCKS` order."""
        return np.array([self.energy_weight, self.forces_weight, self.stress_weight])


@dataclass(frozen=True)
class LinearSystem:
    """Rows of the linear short-range fit, in reported units (meV/atom, meV/Å, GPa).

    Rows: per structure one energy row (E/N), 3N force rows, 6 stress rows. Columns: the pair
    basis (:class:`PairFeatures`, scaled like the rows), one constant per species, which
    enters the energy rows as 1000 n_species/N, and optionally an isotropic stress intercept.

    Attributes:
        matrix: design matrix, shape (R, F + n_species [+ 1]); independent of q.
        n_pair_columns: F, the number of pair-basis columns (the ridge acts on these only).
        reference: y_ref per row, shape (R,).
        coulomb: y_C(1) per row, shape (R,); the target at q is reference − q² coulomb.
        block: index into :data:`BLOCKS` per row, shape (R,).
        structure: index of the structure per row, shape (R,).
    """

    matrix: np.ndarray
    n_pair_columns: int
    reference: np.ndarray
    coulomb: np.ndarray
    block: np.ndarray
    structure: np.ndarray


def linear_system(structures: Sequence[ReferenceStructure], basis: PairBasis, *,
                  stress_intercept: bool = True) -> LinearSystem:
    """Design matrix and both targets (reference and unit-charge Coulomb) of ``structures``.

    With ``stress_intercept`` a last, unpenalised column adds the same isotropic stress (GPa) to
    every structure: the form of a Pulay stress, which no pair model can absorb (at 35 Ry it is
    −11 GPa here and pinned the scan to q = 0 without this column).
    """
    parts = [_structure_rows(s, basis, stress_intercept) for s in structures]
    return LinearSystem(
        matrix=np.concatenate([p[0] for p in parts]),
        n_pair_columns=basis.n_features,
        reference=np.concatenate([p[1] for p in parts]),
        coulomb=np.concatenate([p[2] for p in parts]),
        block=np.concatenate([p[3] for p in parts]),
        structure=np.concatenate([np.full(len(p[3]), k) for k, p in enumerate(parts)]),
    )


def _species(atoms: Atoms, elements: Sequence[str]) -> np.ndarray:
    symbols = atoms.get_chemical_symbols()
    unknown = sorted(set(symbols) - set(elements))
    if unknown:
        raise ValueError(f"{atoms.get_chemical_formula()}: elements {unknown} are not in the "
                         f"pair basis {list(elements)}")
    return np.array([elements.index(s) for s in symbols], dtype=np.int64)


def _structure_rows(
    structure: ReferenceStructure, basis: PairBasis, stress_intercept: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(matrix rows, reference, coulomb, block) of one structure, in reported units."""
    atoms, unit = structure.atoms, structure.coulomb_unit
    n = len(atoms)
    features = basis.features(atoms)
    counts = np.bincount(_species(atoms, basis.elements), minlength=len(basis.elements))
    e, f, s = _REPORT_SCALE
    matrix = np.zeros((1 + 3 * n + 6, basis.n_features + len(counts) + int(stress_intercept)))
    matrix[0, : basis.n_features] = e * features.energy / n
    matrix[0, basis.n_features : basis.n_features + len(counts)] = e * counts / n
    if stress_intercept:
        matrix[1 + 3 * n : 1 + 3 * n + 3, -1] = 1.0  # GPa on xx, yy, zz
    matrix[1 : 1 + 3 * n, : basis.n_features] = f * features.forces.reshape(3 * n, -1)
    matrix[1 + 3 * n :, : basis.n_features] = s * features.stress

    def stacked(energy: float, forces: np.ndarray, stress: np.ndarray) -> np.ndarray:
        return np.concatenate([[e * energy / n], f * np.ravel(forces), s * np.asarray(stress)])

    block = np.repeat([0, 1, 2], [1, 3 * n, 6])
    return (matrix, stacked(structure.energy, structure.forces, structure.stress),
            stacked(unit.energy, unit.forces, unit.stress), block)


def fold_assignment(n_structures: int, folds: int, seed: int) -> np.ndarray:
    """Fold index (0 … folds−1) of each structure, shape (n_structures,): a seeded random
    permutation cut into ``folds`` near-equal parts."""
    if not 2 <= folds <= n_structures:
        raise ValueError(f"need 2 ≤ folds ≤ {n_structures} structures, not {folds} folds")
    assignment = np.empty(n_structures, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(n_structures)
    for k, members in enumerate(np.array_split(order, folds)):
        assignment[members] = k
    return assignment


def group_assignment(groups: Sequence[str]) -> np.ndarray:
    """Fold index of each structure for leave-one-group-out: fold k holds every structure of
    the k-th group in sorted order. Shape (n_structures,).

    Raises:
        ValueError: fewer than two groups (nothing to leave out).
    """
    labels = sorted(set(groups))
    if len(labels) < 2:
        raise ValueError(f"grouped cross-validation needs ≥ 2 groups (strata), found {labels}; "
                         "use charges.cv: random")
    index = {label: k for k, label in enumerate(labels)}
    return np.array([index[g] for g in groups], dtype=np.int64)


def assign_folds(structures: Sequence[ReferenceStructure], settings: ScanSettings) -> np.ndarray:
    """Fold of each structure by ``settings.cv``, shape (n_structures,)."""
    if settings.cv == "grouped":
        return group_assignment([s.group for s in structures])
    return fold_assignment(len(structures), settings.folds, settings.seed)


def _row_scale(system: LinearSystem, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row scale factors of a weighted fit on the rows selected by the boolean mask ``rows``:
    √(w_k / n_k), n_k the selected rows of block k, so that the weighted sum of squares is
    Σ_k w_k MSE_k. Shape (R,) (zero outside ``rows``)."""
    counts = np.bincount(system.block[rows], minlength=len(BLOCKS))
    per_block = np.sqrt(np.divide(weights, counts, out=np.zeros(len(BLOCKS)), where=counts > 0))
    return np.where(rows, per_block[system.block], 0.0)


def fit_coefficients(
    system: LinearSystem, rows: np.ndarray, targets: np.ndarray, weights: np.ndarray, ridge: float
) -> np.ndarray:
    """Ridge-regularised weighted least squares on the rows selected by the mask ``rows``.

    Minimises Σ_k w_k MSE_k + ridge Σ_j θ_j² over the training rows, the sum over the
    pair-basis coefficients only (eV; the species constants are free), for every column of
    ``targets`` (shape (R, m), reported units) at once: one factorisation. Returns θ, shape
    (n_columns, m). Minimum-norm where the constants are degenerate (fixed composition).
    """
    scale = _row_scale(system, rows, weights)[rows]
    n_columns = system.matrix.shape[1]
    penalty = np.zeros((system.n_pair_columns, n_columns))
    penalty[:, : system.n_pair_columns] = math.sqrt(ridge) * np.eye(system.n_pair_columns)
    matrix = np.concatenate([system.matrix[rows] * scale[:, None], penalty])
    rhs = np.concatenate([targets[rows] * scale[:, None],
                          np.zeros((system.n_pair_columns, targets.shape[1]))])
    return np.linalg.lstsq(matrix, rhs, rcond=None)[0]


def cv_moments(
    system: LinearSystem, assignment: np.ndarray, weights: np.ndarray, ridge: float
) -> np.ndarray:
    """Cross-validated residual moments of the linear model per structure, shape (S, 3 blocks, 4).

    Per fold, :func:`fit_coefficients` solves the training rows once for both targets:
    θ_ref, θ_C. The validation residual at q is then u − q² v with u = y_ref − Aθ_ref and
    v = y_C − Aθ_C. Columns: Σu², Σuv, Σv², row count over each structure's rows (it is
    held out in exactly one fold), per block; summed over structures,
    MSE_k(q) = (Σu² − 2q² Σuv + q⁴ Σv²) / count.
    """
    n_structures = int(system.structure.max()) + 1
    moments = np.zeros((n_structures, len(BLOCKS), 4))
    fold_of_row = assignment[system.structure]
    targets = np.stack([system.reference, system.coulomb], axis=1)
    for k in np.unique(assignment):
        theta = fit_coefficients(system, fold_of_row != k, targets, weights, ridge)
        valid = fold_of_row == k
        u, v = (targets[valid] - system.matrix[valid] @ theta).T
        cell = system.structure[valid] * len(BLOCKS) + system.block[valid]
        for column, values in enumerate((u * u, u * v, v * v, np.ones_like(u))):
            moments[:, :, column] += np.bincount(cell, values, moments[:, :, 0].size).reshape(
                n_structures, len(BLOCKS))
    return moments


def learnability(moments: np.ndarray, q: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """Cross-validated RMSEs of the linear short-range model at every q, from the moments of
    :func:`cv_moments` (shape (S, 3, 4), summed here).

    Returns columns ``cv_energy_mev_per_atom``, ``cv_force_mev_per_a``, ``cv_stress_gpa``
    and ``cv_score`` = √(Σ_k w_k RMSE_k²), one row per q (shape (n_q,) in, e).
    """
    total = moments.sum(axis=0)
    t = np.asarray(q, dtype=float) ** 2
    mse = (total[:, 0, None] - 2 * t * total[:, 1, None] + t * t * total[:, 2, None])
    mse = np.maximum(mse, 0.0) / total[:, 3, None]  # ≥ 0 but for rounding
    return pd.DataFrame({
        "cv_energy_mev_per_atom": np.sqrt(mse[0]),
        "cv_force_mev_per_a": np.sqrt(mse[1]),
        "cv_stress_gpa": np.sqrt(mse[2]),
        "cv_score": np.sqrt(weights @ mse),
    })


def optimal_q(moments: np.ndarray, weights: np.ndarray, q_min: float, q_max: float) -> np.ndarray:
    """q (e) minimising the cross-validated score of summed moments, shape (..., 3, 4) → (...).

    The score² Σ_k w_k (Σu² − 2t Σuv + t² Σv²)_k / n_k is a convex quadratic in t = q²: its
    vertex t* = Σ_k w_k Σuv_k/n_k / Σ_k w_k Σv²_k/n_k, clipped to [q_min², q_max²].
    """
    per_row = weights / moments[..., 3]
    slope = np.sum(per_row * moments[..., 1], axis=-1)
    curvature = np.sum(per_row * moments[..., 2], axis=-1)
    t = np.divide(slope, curvature, out=np.full(np.shape(slope), q_min**2), where=curvature > 0)
    return np.sqrt(np.clip(t, q_min**2, q_max**2))


def learnability_interval(moments: np.ndarray, units: np.ndarray, settings: ScanSettings) -> dict[str, Any]:
    """The learnability optimum with a percentile-bootstrap interval.

    The held-out errors are resampled by unit (``units``: an integer per structure, shape (S,);
    the held-out group of grouped cross-validation, else the structure itself): each resample
    draws as many units as there are, with replacement, sums their moments (:func:`cv_moments`)
    and takes its optimum (:func:`optimal_q`). The fits are not repeated: the interval is the
    sampling uncertainty of the held-out errors over the strata, which is what decides q here.

    Returns ``q`` (e, from all units), ``low``, ``high`` (the central ``settings.confidence``
    interval, e), ``q_error`` (half its width), ``determined`` (width ≤
    ``settings.max_interval``), ``cv``, ``n_units``, ``bootstrap``.
    """
    weights = settings.weights
    _, dense = np.unique(units, return_inverse=True)
    per_unit = np.zeros((dense.max() + 1, *moments.shape[1:]))
    np.add.at(per_unit, dense, moments)
    rng = np.random.default_rng(settings.seed)
    draws = rng.integers(0, len(per_unit), size=(settings.bootstrap, len(per_unit)))
    # A resample may hold no row of a block (never here: every structure has all three).
    resampled = optimal_q(per_unit[draws].sum(axis=1), weights, settings.q_min, settings.q_max)
    tail = (1 - settings.confidence) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    q = float(optimal_q(per_unit.sum(axis=0), weights, settings.q_min, settings.q_max))
    return {"q": q, "low": float(low), "high": float(high), "q_error": float(high - low) / 2,
            "confidence": settings.confidence, "determined": bool(high - low <= settings.max_interval),
            "max_interval": settings.max_interval, "cv": settings.cv, "n_units": len(per_unit),
            "bootstrap": settings.bootstrap}


def _per_atom_energies(structures: Sequence[ReferenceStructure]) -> tuple[np.ndarray, np.ndarray]:
    """(E_ref/N, E_C(1)/N) per structure (eV/atom), each of shape (S,)."""
    n = np.array([len(s.atoms) for s in structures], dtype=float)
    return (np.array([s.energy for s in structures]) / n,
            np.array([s.coulomb_unit.energy for s in structures]) / n)


def _raw_pairs(
    structures: Sequence[ReferenceStructure],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(y_ref, y_C(1)) of the raw least-squares fits, per block, in reported units:
    per-atom energies minus their mean (meV/atom), forces (meV/Å), stress (GPa)."""
    energy_ref, energy_c = _per_atom_energies(structures)
    forces_ref = np.concatenate([np.ravel(s.forces) for s in structures])
    forces_c = np.concatenate([np.ravel(s.coulomb_unit.forces) for s in structures])
    stress_ref = np.concatenate([np.asarray(s.stress) for s in structures])
    stress_c = np.concatenate([np.asarray(s.coulomb_unit.stress) for s in structures])
    e, f, s = _REPORT_SCALE
    return {
        "energy": (e * (energy_ref - energy_ref.mean()), e * (energy_c - energy_c.mean())),
        "forces": (f * forces_ref, f * forces_c),
        "stress": (s * stress_ref, s * stress_c),
    }


def least_squares_q2(structures: Sequence[ReferenceStructure]) -> dict[str, float]:
    """Closed-form q² = Σ y_ref y_C(1) / Σ y_C(1)² (e²) for ``energy`` (per-atom energies
    relative to their mean), ``forces`` and ``stress``. Short-range terms of y_ref are not
    removed: these are the raw fits."""
    return {name: float(ref @ c / (c @ c)) for name, (ref, c) in _raw_pairs(structures).items()}


def raw_residuals(structures: Sequence[ReferenceStructure], q: np.ndarray) -> pd.DataFrame:
    """RMS of the raw residual y_ref − q² y_C(1) at every q (no short-range model).

    Returns columns ``raw_energy_mev_per_atom`` (per-atom energies relative to their mean),
    ``raw_force_mev_per_a`` and ``raw_stress_gpa``; each is minimal at the q² of
    :func:`least_squares_q2`.
    """
    t = np.asarray(q, dtype=float) ** 2
    columns = {}
    for block, (ref, c) in _raw_pairs(structures).items():
        mse = (ref @ ref - 2 * t * (ref @ c) + t * t * (c @ c)) / len(ref)
        columns[METHODS[f"least_squares_{block}"]] = np.sqrt(np.maximum(mse, 0.0))
    return pd.DataFrame(columns)


def spread(structures: Sequence[ReferenceStructure], q: np.ndarray) -> np.ndarray:
    """Std across phases (population std) of the phase-mean residual per-atom energy
    (E_ref − q² E_C(1))/N, at every q (meV/atom), shape (n_q,)."""
    energy_ref, energy_c = _per_atom_energies(structures)
    phases = pd.Series([s.phase for s in structures])
    mean_ref = pd.Series(energy_ref).groupby(phases).mean().to_numpy()
    mean_c = pd.Series(energy_c).groupby(phases).mean().to_numpy()
    t = np.asarray(q, dtype=float) ** 2
    return 1000.0 * np.std(mean_ref[None, :] - t[:, None] * mean_c[None, :], axis=1)


@dataclass(frozen=True)
class ChargeScan:
    """The scan's outcome.

    Attributes:
        table: every metric of :data:`COLUMNS`, one row per q of the grid.
        learnability: the learnability optimum and its bootstrap interval
            (:func:`learnability_interval`).
    """

    table: pd.DataFrame
    learnability: dict[str, Any]


def charge_scan(structures: Sequence[ReferenceStructure], settings: ScanSettings) -> ChargeScan:
    """Every metric of :data:`COLUMNS` on the q grid of ``settings``, and the learnability
    optimum with its interval."""
    q = settings.grid
    system = linear_system(structures, settings.basis, stress_intercept=settings.stress_intercept)
    assignment = assign_folds(structures, settings)
    moments = cv_moments(system, assignment, settings.weights, settings.ridge)
    units = assignment if settings.cv == "grouped" else np.arange(len(structures))
    table = pd.concat(
        [
            pd.DataFrame({"q": q}),
            raw_residuals(structures, q),
            learnability(moments, q, settings.weights),
            pd.DataFrame({"spread_mev_per_atom": spread(structures, q)}),
        ],
        axis=1,
    )
    return ChargeScan(table, learnability_interval(moments, units, settings))


def _square_as_quadratic(table: pd.DataFrame, column: str) -> np.polynomial.Polynomial:
    """column² as the polynomial in q² it is exactly (every metric is √ of a quadratic)."""
    return np.polynomial.Polynomial.fit(table["q"] ** 2, table[column] ** 2, 2).convert()


def pick_q(table: pd.DataFrame, method: str) -> tuple[float, dict[str, float]]:
    """q_eff (e) by ``method`` (a key of :data:`METHODS`) and every metric at q_eff.

    The method's metric is minimised over q in the table's range. The grid only samples it:
    its square is exactly quadratic in q², so the quadratic through the grid values is
    minimised (its vertex, or the nearer end of the range), which puts q_eff between grid
    points; for the ``least_squares_*`` methods this is the closed form of
    :func:`least_squares_q2`. The metrics at q_eff come from their quadratics the same way;
    ``q_grid`` is the grid point of lowest tabulated metric.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {sorted(METHODS)}")
    column = METHODS[method]
    t_min, t_max = table["q"].min() ** 2, table["q"].max() ** 2
    quadratic = _square_as_quadratic(table, column)
    _, slope, curvature = quadratic.coef
    if curvature > 0:
        t = min(max(-slope / (2 * curvature), t_min), t_max)
    else:  # concave or flat: the minimum is at an end of the range
        t = min((t_min, t_max), key=quadratic)
    q_eff = math.sqrt(t)
    metrics = {
        name: math.sqrt(max(_square_as_quadratic(table, name)(q_eff**2), 0.0))
        for name in table.columns
        if name != "q"
    }
    return q_eff, {"q": q_eff, "q_grid": float(table["q"][table[column].idxmin()]), **metrics}
