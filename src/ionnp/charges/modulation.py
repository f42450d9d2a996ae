"""The effective charge from frozen polar modulations: longitudinal against transverse.

The cation and anion sublattices of a column of the cubic polar crystal
(``prototypes.roles.polar_cubic``: zinc blende for ZnO, rocksalt for MgO, fluorite for CaF2)
are displaced in antiphase,

    u_i = s_i u₀ cos(2π z_i / λ) ê,   λ = n a,   s_i = +1 (cations), −1 (anions),

once longitudinally (ê ∥ z = cubic [001], "L") and once transversely (ê = cubic [100], "T"),
in the same cell. A column is the crystal's smallest cell with a cube's height, repeated n
times along z (:class:`PolarCrystal`; an fcc prototype: the tetragonal cell a/√2 × a/√2 × a,
e.g. 4 atoms of zinc blende or 6 of fluorite); a comes from a DFT equilibrium volume. The
longitudinal wave carries a bound charge −∇·P and hence a field; the transverse one does not.
Short-range energies of L and T agree to O((2πr/λ)²) (the zone-centre optical mode of a cubic
crystal is isotropic), so the difference E(L) − E(T) is electrostatic: ∝ Z*²/ε∞ in DFT, ∝ q²
for point charges q z_s / z_ref. Hence

    r(λ) = [E_DFT(L) − E_DFT(T)] / [E_C(1)(L) − E_C(1)(T)] = q² + b/λ² + c/λ⁴ + ...,

with E_C(1) the Ewald energy at the unit charges z_s / z_ref (:class:`ionnp.chemistry.Chemistry`),
and q² is the intercept of a quadratic in 1/λ² through r at three or more λ: q is the
reference species' charge, q/z_ref the scale of the formal charges that the pattern's
dielectric-screened mode charge gives in the long-wavelength limit (for ZnO, Z*/√ε∞), obtained
from a few DFT single points without any training.

All columns sample the Brillouin zone of the base cell with the same k-points
(:func:`kpoint_mesh`). Checks carried in the result: harmonicity (the L − T energy at a second amplitude on the
shortest column must scale as u₀²; the q² it gives shows the anharmonic bias) and k-point
convergence (the whole set at each configured k spacing; q from the finest).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms

from ionnp.charges.coulomb import coulomb
from ionnp.charges.polar import PolarCrystal
from ionnp.chemistry import Chemistry
from ionnp.dft.pw import DftSettings, Launch, label_shard, status_summary, unfinished

#: Displacement direction of each polarisation in the column's frame, the crystal's cubic axes
#: (z = [001] is the modulation axis): T runs along cubic [100], equivalent to L's [001], so
#: that the anharmonic short-range energies of L and T agree as well (a cubic crystal's quartic
#: energy has an anisotropic invariant, Σ u_i⁴, that would otherwise differ).
POLARISATIONS = {"L": np.array([0.0, 0.0, 1.0]), "T": np.array([1.0, 0.0, 0.0])}
@dataclass(frozen=True)
class ModulationSettings:
    """The frozen-modulation cells (``charges.lt`` in config).

    Attributes:
        repeats: column lengths n (λ = n a, a the polar crystal's lattice constant); ≥ 3 values for
            the quadratic extrapolation. Their least common multiple sets the k-mesh along the
            modulation (:func:`kpoint_mesh`): (1, 2, 4) keeps it small.
        amplitude: u₀ (Å).
        harmonic_amplitude: second u₀ (Å), on the shortest column only.
        kspacings: k-point spacings (Å⁻¹, 2π included), each a full set; q from the smallest.
    """

    repeats: tuple[int, ...]
    amplitude: float
    harmonic_amplitude: float
    kspacings: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(set(self.repeats)) < 3:
            raise ValueError(f"charges.lt.repeats {list(self.repeats)}: need 3 different column lengths")
        if not 0 < self.amplitude != self.harmonic_amplitude > 0:
            raise ValueError("charges.lt.amplitude and harmonic_amplitude must be positive and differ")

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ModulationSettings:
        return cls(tuple(int(n) for n in section["repeats"]), float(section["amplitude"]),
                   float(section["harmonic_amplitude"]), tuple(float(k) for k in section["kspacing"]))


def modulated(atoms: Atoms, amplitude: float, polarisation: str, chemistry: Chemistry) -> Atoms:
    """``atoms`` with u_i = s_i amplitude cos(2π z_i / λ) ê (s_i = +1 cations, −1 anions; λ the
    cell's z length, ê from :data:`POLARISATIONS`)."""
    out = atoms.copy()
    wavelength = out.cell[2, 2]
    phase = np.cos(2 * np.pi * out.positions[:, 2] / wavelength)
    signs = np.sign(chemistry.unit_charges(out))
    out.positions += (signs * amplitude * phase)[:, None] * POLARISATIONS[polarisation]
    return out


def kpoint_mesh(column: Atoms, repeats: int, all_repeats: Sequence[int], kspacing: float) -> list[int]:
    """Monkhorst–Pack mesh of a ``column`` of ``repeats`` cubes (edge a) that samples the
    Brillouin zone of its base cell the same way for every column of ``all_repeats``.

    In-plane: spacing at most ``kspacing`` (Å⁻¹, 2π included), from the in-plane cell lengths. Along the modulation: M / n
    points, M the smallest multiple of lcm(``all_repeats``) with 2π/(a M) ≤ ``kspacing``, so
    that every column folds onto the same k-points of the cube; a k density that changed with
    λ would change the electronic screening of E(L) − E(T) with λ and spoil the extrapolation
    (measured: 2 → 1 k-points along z between 9 and 14 Å columns moved r by 7 %).
    """
    lengths = column.cell.lengths()
    in_plane = [math.ceil(2 * math.pi / length / kspacing - 1e-9) for length in lengths[:2]]
    a = lengths[2] / repeats
    step = math.lcm(*all_repeats)
    along = step * math.ceil(math.ceil(2 * math.pi / a / kspacing - 1e-9) / step)
    return [*in_plane, along // repeats]


def modulation_cells(crystal: PolarCrystal, a: float, settings: ModulationSettings) -> list[Atoms]:
    """Every cell to compute with DFT (columns of ``crystal`` at lattice constant ``a``, Å): L
    and T at u₀ for each column length and k spacing, and
    at the second amplitude on the shortest column. Each carries its ``structure_id`` and
    ``lt_repeats``, ``lt_wavelength`` (Å), ``lt_amplitude`` (Å), ``lt_polarisation``,
    ``lt_kspacing`` (Å⁻¹) and ``lt_kpoints`` (:func:`kpoint_mesh`) in ``info``."""
    shortest = min(settings.repeats)
    cells = []
    for kspacing in settings.kspacings:
        for repeats in sorted(set(settings.repeats)):
            amplitudes = [settings.amplitude]
            if repeats == shortest:
                amplitudes.append(settings.harmonic_amplitude)
            base = crystal.column(a, repeats)
            kpoints = kpoint_mesh(base, repeats, settings.repeats, kspacing)
            for amplitude in amplitudes:
                for polarisation in POLARISATIONS:
                    cell = modulated(base, amplitude, polarisation, crystal.chemistry)
                    cell.info.update(
                        structure_id=f"lt_n{repeats}_{polarisation}_u{amplitude:.4f}_k{kspacing:.3f}",
                        lt_repeats=repeats, lt_wavelength=float(base.cell[2, 2]),
                        lt_amplitude=amplitude, lt_polarisation=polarisation, lt_kspacing=kspacing,
                        lt_kpoints=np.array(kpoints))
                    cells.append(cell)
    return cells


def label_modulations(cells: Sequence[Atoms], settings: DftSettings, workdir: str | os.PathLike,
                      launch: Launch | str) -> tuple[list[Atoms], dict[str, Any]]:
    """pw.x on every :func:`modulation_cells` cell at its own k spacing and mesh, finished
    structures reused; returns the converged cells and the status summary (settings included).

    Raises:
        RuntimeError: naming the structures a rerun will compute (finished ones are kept).
    """
    labelled, results = [], []
    for kspacing in dict.fromkeys(c.info["lt_kspacing"] for c in cells):  # in the cells' order
        at_k = [c for c in cells if c.info["lt_kspacing"] == kspacing]
        frames, outcome = label_shard(at_k, replace(settings, kspacing=kspacing), Path(workdir), launch,
                                      kpoints=[c.info["lt_kpoints"].tolist() for c in at_k])
        labelled += frames
        results += outcome
    retry = unfinished(results, settings.max_attempts)
    if retry:
        raise RuntimeError(f"{len(retry)} L/T structures to retry (finished ones are kept in "
                           f"{workdir}): " + ", ".join(r.structure_id for r in retry))
    summary = status_summary(results)
    summary.update(settings=settings.record(), launch=launch.template if isinstance(launch, Launch) else launch)
    return labelled, summary


def ratio_table(frames: Sequence[Atoms], chemistry: Chemistry) -> pd.DataFrame:
    """One row per computed (k spacing, column, amplitude) with both polarisations.

    ``frames`` are labelled cells of :func:`modulation_cells` (energies in eV). Columns:
    kspacing, repeats, wavelength (Å), amplitude (Å), de_reference = E(L) − E(T) (eV),
    de_coulomb = E_C(1)(L) − E_C(1)(T) (eV), ratio = de_reference / de_coulomb (e²).
    A (column, amplitude) whose L or T is missing (failed DFT) is left out.
    """
    energies: dict[tuple, dict[str, tuple[float, float]]] = {}
    for atoms in frames:
        key = (float(atoms.info["lt_kspacing"]), int(atoms.info["lt_repeats"]),
               float(atoms.info["lt_wavelength"]), float(atoms.info["lt_amplitude"]))
        unit = coulomb(atoms, chemistry.unit_charges(atoms), accuracy=1e-12).energy
        energies.setdefault(key, {})[str(atoms.info["lt_polarisation"])] = (
            atoms.get_potential_energy(), unit)
    rows = []
    for (kspacing, repeats, wavelength, amplitude), pair in sorted(energies.items()):
        if set(pair) != set(POLARISATIONS):
            continue
        de_reference = pair["L"][0] - pair["T"][0]
        de_coulomb = pair["L"][1] - pair["T"][1]
        rows.append({"kspacing": kspacing, "repeats": repeats, "wavelength": wavelength,
                     "amplitude": amplitude, "de_reference": de_reference,
                     "de_coulomb": de_coulomb, "ratio": de_reference / de_coulomb})
    return pd.DataFrame(rows, columns=["kspacing", "repeats", "wavelength", "amplitude",
                                       "de_reference", "de_coulomb", "ratio"])


@dataclass(frozen=True)
class Extrapolation:
    """r(λ) = q² + b/λ² + c/λ⁴ fitted at one k spacing and amplitude.

    Attributes:
        q2: intercept (e²); q: √q² (e, NaN where q² < 0).
        slope: b (e² Å²); curvature: c (e² Å⁴).
        q2_linear: intercept of the straight line r = q² + b/λ² through the same points (e²);
            its distance from ``q2`` measures what the terms beyond 1/λ² do.
        q2_error: standard error of the intercept from the fit residual (e²; 0 with 3 points).
        n_wavelengths: points in the fit.
    """

    q2: float
    slope: float
    curvature: float
    q2_linear: float
    q2_error: float
    n_wavelengths: int

    @property
    def q(self) -> float:
        return math.sqrt(self.q2) if self.q2 >= 0 else math.nan


def extrapolate(wavelengths: Sequence[float], ratios: Sequence[float]) -> Extrapolation:
    """Least-squares r = q² + b/λ² + c/λ⁴ (λ in Å, ≥ 3 points) and the straight line.

    The quadratic term matters: on Buckingham + Coulomb labels with 8–16-atom columns the
    straight line's intercept is off by 4e-3 e², the quadratic's by 8e-5 e².
    """
    x = 1.0 / np.asarray(wavelengths, dtype=float) ** 2
    r = np.asarray(ratios, dtype=float)
    if len(x) < 3:
        raise ValueError(f"the L/T extrapolation needs 3 wavelengths, got {len(x)}")
    design = np.vander(x, 3, increasing=True)
    coefficients, residual, *_ = np.linalg.lstsq(design, r, rcond=None)
    dof = len(x) - 3
    variance = float(residual[0]) / dof if dof > 0 and residual.size else 0.0
    covariance = variance * np.linalg.inv(design.T @ design)
    linear = np.polynomial.polynomial.polyfit(x, r, 1)
    return Extrapolation(float(coefficients[0]), float(coefficients[1]), float(coefficients[2]),
                         float(linear[0]), float(math.sqrt(covariance[0, 0])), len(x))


def estimate(table: pd.DataFrame, settings: ModulationSettings) -> dict[str, Any]:
    """q from :func:`ratio_table`: the extrapolation at every k spacing, the harmonicity check
    and the uncertainty.

    Harmonicity: ``energy_scaling`` = [ΔE(u₂)/ΔE(u₀)]·(u₀/u₂)² of the reference L − T
    energy on the shortest column, 1 for a harmonic response.

    The reported q is the finest k spacing's. Its uncertainty σ_q combines in quadrature:
    the fit's standard error (with 4 or more wavelengths); the straight line's intercept
    minus the quadratic's (what the terms beyond 1/λ² do; the error left after the quadratic
    term is much smaller); the anharmonic bias at u₀, (q²(u₂) − q²(u₀))·u₀²/(u₂² − u₀²) on
    the shortest column (quartic terms bias r in proportion to u²); and, with two or more k
    spacings, the change of q from the next-coarser spacing (k-point convergence; None in
    ``uncertainty_parts_e2`` with one spacing: not assessed).

    Raises:
        ValueError: a k spacing with fewer than 3 complete wavelengths at u₀.
    """
    per_kspacing = {}
    for kspacing, rows in table[np.isclose(table["amplitude"], settings.amplitude)].groupby("kspacing"):
        if len(rows) >= 3:
            per_kspacing[float(kspacing)] = extrapolate(rows["wavelength"], rows["ratio"])
    missing = [k for k in settings.kspacings if k not in per_kspacing]
    if missing:
        raise ValueError(f"L/T cells at k spacing {missing}: fewer than 3 complete (L and T) "
                         "wavelengths; see lt_dft.status.json for the failed structures")
    finest = min(per_kspacing)
    fit = per_kspacing[finest]
    extrapolation_change = fit.q2_linear - fit.q2
    shortest = table[np.isclose(table["kspacing"], finest)
                     & (table["repeats"] == min(settings.repeats))].set_index("amplitude")
    u0, u2 = settings.amplitude, settings.harmonic_amplitude
    r0, r2 = float(shortest.loc[u0, "ratio"]), float(shortest.loc[u2, "ratio"])
    energy_scaling = (shortest.loc[u2, "de_reference"] / shortest.loc[u0, "de_reference"]) * (u0 / u2) ** 2
    anharmonic_bias = (r2 - r0) * u0**2 / (u2**2 - u0**2)
    coarser = sorted(k for k in per_kspacing if k > finest)
    k_change = per_kspacing[coarser[0]].q2 - fit.q2 if coarser else None
    q2_error = math.sqrt(fit.q2_error**2 + extrapolation_change**2 + anharmonic_bias**2
                         + (k_change or 0.0) ** 2)
    q_error = q2_error / (2 * fit.q) if fit.q > 0 else math.sqrt(q2_error)
    return {
        "q": fit.q,
        "q_error": q_error,
        "q2": fit.q2,
        "q2_error": q2_error,
        "kspacing": finest,
        "uncertainty_parts_e2": {"fit": fit.q2_error, "extrapolation": extrapolation_change,
                                 "anharmonic": anharmonic_bias,
                                 "kpoints": k_change},
        "harmonicity": {"amplitudes": [u0, u2], "ratio_at_amplitudes": [r0, r2],
                        "energy_scaling": float(energy_scaling)},
        "per_kspacing": {f"{k:g}": {"q": f.q, "q2": f.q2, "slope": f.slope, "curvature": f.curvature,
                                     "q2_linear": f.q2_linear, "q2_error": f.q2_error,
                                     "n_wavelengths": f.n_wavelengths}
                         for k, f in sorted(per_kspacing.items())},
    }
