"""Equations of state and pressure-induced transitions.

Energies E(V) of one polymorph at a few volumes are fitted by the third-order
Birch–Murnaghan equation (the fit is ASE's :class:`ase.eos.EquationOfState`):

    E(V) = E0 + 9 V0 B0 / 16 · { (x − 1)³ B0' + (x − 1)² (6 − 4 x) },   x = (V0 / V)^(2/3)
    P(V) = −dE/dV = 3 B0 / 2 · (x^(7/2) − x^(5/2)) · { 1 + 3/4 (B0' − 4)(x − 1) }

and a phase transition at zero temperature sits where the enthalpies H(P) = E(V(P)) + P V(P)
of the two phases cross. Everything is per formula unit: eV, Å³, eV/Å³ (GPa in reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.eos import EquationOfState
from ase.units import GPa
from scipy.optimize import brentq

from ionnp.chemistry import formula_units
from ionnp.potential import RigidIonPotential


@dataclass(frozen=True)
class BirchMurnaghan:
    """A third-order Birch–Murnaghan equation of state (per formula unit).

    Attributes:
        e0: minimum energy (eV).
        v0: equilibrium volume (Å³).
        b0: bulk modulus (eV/Å³).
        b0_prime: its pressure derivative (dimensionless).
    """

    e0: float
    v0: float
    b0: float
    b0_prime: float

    def energy(self, volume: np.ndarray | float) -> np.ndarray:
        """E(V) in eV for volumes in Å³."""
        x = (self.v0 / np.asarray(volume, dtype=float)) ** (2 / 3)
        return self.e0 + 9 * self.v0 * self.b0 / 16 * ((x - 1) ** 3 * self.b0_prime
                                                       + (x - 1) ** 2 * (6 - 4 * x))

    def pressure(self, volume: np.ndarray | float) -> np.ndarray:
        """P(V) = −dE/dV in eV/Å³."""
        x = (self.v0 / np.asarray(volume, dtype=float)) ** (2 / 3)
        return 1.5 * self.b0 * (x**3.5 - x**2.5) * (1 + 0.75 * (self.b0_prime - 4) * (x - 1))

    def volume(self, pressure: float) -> float:
        """V(P) in Å³ for P in eV/Å³, on the branch continuous with V0: scanning down from
        1.5 V0 to 0.5 V0, the first volume where P(V) reaches P (a fit with B0' < 4 turns
        over at strong compression), refined with Brent's method.

        Raises:
            ValueError: where P lies outside what that branch covers.
        """
        volumes = np.linspace(1.5 * self.v0, 0.5 * self.v0, 401)
        excess = self.pressure(volumes) - pressure
        reached = np.flatnonzero(excess >= 0)
        if not len(reached) or reached[0] == 0:
            raise ValueError(f"P = {pressure / GPa:.1f} GPa is outside this equation of state "
                             f"(V0 = {self.v0:.2f} Å³, B0 = {self.b0 / GPa:.0f} GPa, B0' = {self.b0_prime:.2f})")
        k = reached[0]
        if excess[k] == 0:
            return float(volumes[k])
        return brentq(lambda v: float(self.pressure(v)) - pressure, volumes[k], volumes[k - 1], xtol=1e-12)

    def enthalpy(self, pressure: float) -> float:
        """H(P) = E(V(P)) + P V(P) in eV for P in eV/Å³."""
        volume = self.volume(pressure)
        return float(self.energy(volume)) + pressure * volume


def fit_birch_murnaghan(volumes: Sequence[float], energies: Sequence[float]) -> BirchMurnaghan:
    """Least-squares Birch–Murnaghan fit (volumes in Å³, energies in eV, ≥ 4 points).

    Raises:
        ValueError: with fewer than four points (the equation has four parameters).
    """
    if len(volumes) < 4:
        raise ValueError(f"a Birch–Murnaghan fit needs at least 4 volumes, got {len(volumes)}")
    eos = EquationOfState(list(volumes), list(energies), eos="birchmurnaghan")
    eos.fit(warn=False)
    e0, b0, b0_prime, v0 = (float(p) for p in eos.eos_parameters)
    return BirchMurnaghan(e0=e0, v0=v0, b0=b0, b0_prime=b0_prime)


def transition_pressure(low: BirchMurnaghan, high: BirchMurnaghan, *,
                        p_min: float = 0.0, p_max: float = 100 * GPa,
                        n_grid: int = 201) -> float:
    """The lowest pressure (eV/Å³) in [p_min, p_max] at which ``high`` (the denser phase)
    becomes lower in enthalpy than ``low``; NaN when it does not within that range, p_min
    when it is already lower there.

    The enthalpy difference is scanned on ``n_grid`` pressures and the first sign change
    refined with Brent's method.
    """
    pressures = np.linspace(p_min, p_max, n_grid)
    difference = np.array([_enthalpy_difference(low, high, p) for p in pressures])
    if difference[0] <= 0:
        return float(p_min)
    change = np.flatnonzero((difference[:-1] > 0) & (difference[1:] <= 0))
    if not len(change):
        return float("nan")
    k = change[0]
    return brentq(lambda p: _enthalpy_difference(low, high, p), pressures[k], pressures[k + 1],
                  xtol=1e-10)


def _enthalpy_difference(low: BirchMurnaghan, high: BirchMurnaghan, pressure: float) -> float:
    """H_high(P) − H_low(P) in eV (inf where either curve does not reach P)."""
    try:
        return high.enthalpy(pressure) - low.enthalpy(pressure)
    except ValueError:
        return float("inf")


def scaled_cells(atoms: Atoms, volume_scales: Sequence[float]) -> list[Atoms]:
    """Copies of ``atoms`` with the cell and positions scaled isotropically so that the volume
    is ``scale`` times the original (fixed shape and fractional coordinates)."""
    cells = []
    for scale in volume_scales:
        scaled = atoms.copy()
        scaled.calc = None
        scaled.set_cell(atoms.cell * scale ** (1 / 3), scale_atoms=True)
        scaled.info["volume_scale"] = float(scale)
        cells.append(scaled)
    return cells


def eos_point(method: str, atoms: Atoms, energy: float, stress: np.ndarray) -> dict[str, Any]:
    """One row of the points table of :func:`fit_table`: ``energy`` (eV) and ``stress`` (Voigt,
    eV/Å³) of an equation-of-state cell (``info`` with ``phase``, ``volume_scale``), per formula
    unit, with the stress pressure in GPa."""
    units = formula_units(atoms)
    return dict(method=method, phase=atoms.info["phase"], volume_scale=atoms.info["volume_scale"],
                volume_a3=atoms.get_volume() / units, energy_ev=energy / units,
                pressure_gpa=float(-np.mean(stress[:3]) / GPa))


def equilibrium_volume(frames: Sequence[Atoms]) -> float:
    """V0 (Å³ per formula unit) of the Birch–Murnaghan fit to labelled cells of one phase."""
    return fit_birch_murnaghan([a.get_volume() / formula_units(a) for a in frames],
                               [a.get_potential_energy() / formula_units(a) for a in frames]).v0


def at_volume(atoms: Atoms, volume_per_formula_unit: float) -> Atoms:
    """A copy of ``atoms`` (no calculator) scaled isotropically to ``volume_per_formula_unit``
    (Å³), fractional coordinates kept."""
    scaled = atoms.copy()
    scaled.calc = None
    factor = volume_per_formula_unit * formula_units(atoms) / atoms.get_volume()
    scaled.set_cell(atoms.cell * factor ** (1 / 3), scale_atoms=True)
    return scaled


def converged_volumes(phase: str, frames: Sequence[Atoms], status: dict[str, Any],
                      minimum: int = 4) -> list[dict[str, Any]]:
    """The structures of ``phase``'s equation of state that did not converge (pw.x ``status``
    summary), to leave out; raises if fewer than ``minimum`` volumes remain for a fit.

    Raises:
        RuntimeError: naming the phase and every failed volume with its status.
    """
    failed = [s for s in status["structures"] if s["status"] != "converged"]
    if len(frames) < minimum:
        raise RuntimeError(f"eos {phase}: {len(frames)} converged volumes, a fit needs {minimum}; failed: "
                           + ", ".join(f"{s['structure_id']} ({s['status']})" for s in failed))
    return failed


def points_table(frames: Sequence[Atoms], nnp: Calculator, empirical: RigidIonPotential) -> pd.DataFrame:
    """:func:`eos_point` rows of every DFT-labelled cell for DFT (its own labels), the
    ``empirical`` potential (in LAMMPS) and the ``nnp`` calculator, sorted by method, phase and
    volume."""
    from ionnp.lammps.empirical import evaluate

    rows = []
    for atoms in frames:
        rows.append(eos_point("DFT", atoms, atoms.get_potential_energy(), atoms.get_stress()))
        labels = evaluate(atoms, empirical)
        rows.append(eos_point("empirical", atoms, labels.energy, labels.stress))
        model = atoms.copy()
        model.calc = nnp
        rows.append(eos_point("NNP", atoms, model.get_potential_energy(), model.get_stress()))
    return pd.DataFrame(rows).sort_values(["method", "phase", "volume_a3"], kind="stable")


def stress_check(points: pd.DataFrame, threshold_gpa: float, pulay_correction: bool = True) -> dict[str, Any]:
    """Whether DFT stresses agree with the DFT energies, before and after a Pulay correction.

    ``stress_offset_gpa``: per phase, the stress offset P_stress − (−dE/dV) of its fit
    (``points`` of method "DFT"). A finite plane-wave basis adds a nearly isotropic, nearly
    structure-independent spurious pressure (the Pulay stress); with ``pulay_correction`` it is
    estimated as ``pulay_pressure_gpa``, the mean of the phases' offsets (each phase weighted
    equally), and removed from every DFT stress label (:func:`ionnp.dft.dataset.remove_pulay_stress`);
    otherwise it is 0. ``residual_offset_gpa``: per phase, what remains (offset − Pulay pressure);
    ``usable``: the largest |residual| (``max_abs_residual_gpa``) is at most ``threshold_gpa``.
    All pressures in GPa."""
    fits = fit_table(points[points.method == "DFT"])
    offsets = {row.phase: float(row.stress_offset_gpa) for row in fits.itertuples()}
    pulay = float(np.mean(list(offsets.values()))) if pulay_correction else 0.0
    residuals = {phase: value - pulay for phase, value in offsets.items()}
    worst = max(abs(v) for v in residuals.values())
    return {"stress_offset_gpa": offsets, "pulay_correction": bool(pulay_correction), "pulay_pressure_gpa": pulay,
            "residual_offset_gpa": residuals, "max_abs_residual_gpa": worst,
            "threshold_gpa": threshold_gpa, "usable": bool(worst <= threshold_gpa)}


def fit_table(points: pd.DataFrame) -> pd.DataFrame:
    """One Birch–Murnaghan fit per (method, phase) of ``points`` (columns ``method``, ``phase``,
    ``volume_a3`` and ``energy_ev`` per formula unit, ``pressure_gpa`` from the stress);
    columns e0_ev, v0_a3, b0_gpa, b0_prime, rmse_mev (fit residual per formula unit),
    n_points, v_min_a3, p_max_gpa (the fit's pressure at the smallest volume computed: beyond
    it a pressure is extrapolated) and stress_offset_gpa: the mean of the stress pressure
    minus −dE/dV of the fit, zero for labels whose stress is the energy's derivative (a
    plane-wave code at a low cut-off shows its Pulay stress here)."""
    rows = []
    for (method, phase), group in points.groupby(["method", "phase"], sort=False):
        volumes = group.volume_a3.to_numpy()
        fit = fit_birch_murnaghan(volumes, group.energy_ev.to_numpy())
        residual = fit.energy(volumes) - group.energy_ev.to_numpy()
        rows.append(dict(method=method, phase=phase, e0_ev=fit.e0, v0_a3=fit.v0,
                         b0_gpa=fit.b0 / GPa, b0_prime=fit.b0_prime,
                         rmse_mev=1000 * float(np.sqrt(np.mean(residual**2))),
                         n_points=len(group), v_min_a3=float(volumes.min()),
                         p_max_gpa=float(fit.pressure(volumes.min())) / GPa,
                         stress_offset_gpa=float(np.mean(group.pressure_gpa.to_numpy()
                                                         - fit.pressure(volumes) / GPa))))
    return pd.DataFrame(rows)


def fits_of(table: pd.DataFrame) -> dict[tuple[str, str], BirchMurnaghan]:
    """The equations of state of a :func:`fit_table`, keyed by (method, phase)."""
    return {(row.method, row.phase): BirchMurnaghan(row.e0_ev, row.v0_a3, row.b0_gpa * GPa, row.b0_prime)
            for row in table.itertuples()}


def transition_table(table: pd.DataFrame, reference: str, max_pressure_gpa: float) -> pd.DataFrame:
    """Pressure (GPa) at which each phase of a :func:`fit_table` overtakes ``reference`` in
    enthalpy, per method; ``extrapolated`` where it lies above the pressure both fits reach
    within their computed volumes."""
    fits = fits_of(table)
    reach = {(row.method, row.phase): row.p_max_gpa for row in table.itertuples()}
    rows = []
    for (method, phase), fit in fits.items():
        if phase == reference or (method, reference) not in fits:
            continue
        pressure = transition_pressure(fits[method, reference], fit,
                                       p_max=max_pressure_gpa * GPa) / GPa
        rows.append(dict(method=method, start=reference, phase=phase, pressure_gpa=pressure,
                         extrapolated=bool(pressure > min(reach[method, reference], reach[method, phase]))))
    return pd.DataFrame(rows)
