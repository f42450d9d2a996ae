"""The criteria a campaign's final potential is judged by, each measured and passed or failed.

Every criterion is computed from the campaign's own outputs (test-split errors, equations of
state, transition pressures, the NVE run, the effective charge, the split, the errors on the
unseen-loading cells) and reported with its measured value, its
target and whether it holds; none is skipped silently (a value that could not be measured
fails, with a note saying why). The thresholds are config keys (``evaluate.criteria``, :class:`Limits`):
their defaults are the project's acceptance criteria for the ZnO validation campaign
(docs/method.md, acceptance criteria); the default campaign is judged by the same table.
A diagnostic is measured and reported the same way but does not count towards the verdict (the
fine-tuned test error against q: on 8–64-atom cells it does not measure the charge).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from ionnp.evaluate.modulations import rms_errors

#: Model variants of the metrics table the criteria compare: the one-shot fine-tune at q_eff (the
#: final model unless refinement rounds follow it), the empirical potential, the scratch baseline.
ONE_SHOT, EMPIRICAL, SCRATCH = "finetune_qeff", "empirical potential", "scratch_qeff"
#: Test-split RMSE columns of the metrics table, with their units.
ERROR_UNITS = {"energy_rmse_mev_per_atom": "meV/atom", "force_rmse_mev_per_a": "meV/Å", "stress_rmse_gpa": "GPa"}
#: Unseen-loading MAE columns of the loading metrics table, with their units and criteria keys.
UNSEEN_UNITS = {"energy_mae_mev_per_atom": "meV/atom", "force_mae_mev_per_a": "meV/Å", "stress_mae_gpa": "GPa"}


@dataclass(frozen=True)
class Limits:
    """The acceptance thresholds (config ``evaluate.criteria``; the schema's defaults are ZnO's).

    Attributes:
        errors: test-split RMSE limit of the final model per :data:`ERROR_UNITS` column.
        unseen: unseen-loading MAE limit of the final model per :data:`UNSEEN_UNITS` column (the
            paper's Table 1 on its tensile-loading set by default).
        v0_tolerance, b0_tolerance: NNP against DFT equation of state (fractions).
        transition_tolerance_gpa: NNP against DFT transition pressure (GPa).
        max_stress_offset_gpa: DFT stress against its energies, after the Pulay correction (GPa).
        min_nve_ps, min_md_atoms, max_drift: the NVE run (ps, atoms, meV/atom/ps).
        min_split: structures in each of the validation and test splits.
        q_window: plausible range of the reference species' effective charge (e).
        max_q_error: the L/T uncertainty a charge is trusted to (e).
        training_q_tolerance: how close (e) to q_L/T the trained models' held-out L − T error must
            be lowest (also the distance the fine-tuned test-error minimum over the q grid is
            reported against, a diagnostic).
        dfpt_tolerance: how close (e) q_DFPT must lie to q_L/T.
        transition_phase: the high-pressure phase of the transition criterion
            (``prototypes.roles.high_pressure``; None: no transition is judged).
    """

    errors: dict[str, float]
    unseen: dict[str, float]
    v0_tolerance: float
    b0_tolerance: float
    transition_tolerance_gpa: float
    max_stress_offset_gpa: float
    min_nve_ps: float
    min_md_atoms: int
    max_drift: float
    min_split: int
    q_window: tuple[float, float]
    max_q_error: float
    training_q_tolerance: float
    dfpt_tolerance: float
    transition_phase: str | None

    @classmethod
    def from_config(cls, criteria: Mapping[str, Any], transition_phase: str | None) -> Limits:
        """From the ``evaluate.criteria`` section and ``prototypes.roles.high_pressure``."""
        c = criteria
        return cls({key: float(c[key]) for key in ERROR_UNITS},
                   {key: float(c[f"unseen_{key}"]) for key in UNSEEN_UNITS}, c["v0_tolerance"], c["b0_tolerance"],
                   c["transition_tolerance_gpa"], c["max_stress_offset_gpa"], c["min_nve_ps"],
                   c["min_md_atoms"], c["max_drift_mev_per_atom_per_ps"], c["min_split"],
                   tuple(c["q_window"]), c["max_q_error"], c["training_q_tolerance"],
                   c["dfpt_tolerance"], transition_phase)


@dataclass(frozen=True)
class Criterion:
    """One acceptance criterion: what, the measured value (None if it could not be measured),
    the target in words, whether it holds, and a note. A diagnostic is judged the same way
    but left out of the campaign's verdict."""

    group: str
    name: str
    measured: float | None
    target: str
    passed: bool
    note: str = ""
    diagnostic: bool = False

    def __post_init__(self) -> None:  # plain JSON types, whatever numpy or pandas handed in
        object.__setattr__(self, "passed", bool(self.passed))
        object.__setattr__(self, "measured", None if self.measured is None else float(self.measured))


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _interval(row: pd.Series, column: str, bare: bool = False) -> str:
    """The bootstrap interval of an RMSE column of a metrics row, as 'low–high', if it has one."""
    if f"{column}_low" not in row.index:
        return ""
    span = f"{float(row[f'{column}_low']):.3g}–{float(row[f'{column}_high']):.3g}"
    return span if bare else f"95 % bootstrap interval over the test structures {span}"


def error_criteria(metrics: pd.DataFrame, limits: Limits, final: str = ONE_SHOT) -> list[Criterion]:
    """Test-split RMSEs of the ``final`` model: below the limits, the empirical potential's and the
    from-scratch model's, and, for a refined model, no worse than the one-shot model's (at most
    the upper end of its bootstrap interval: a small test split makes smaller differences noise)."""
    overall = metrics[metrics.group == "all"].set_index("variant")
    out = []
    for column, limit in limits.errors.items():
        value = _finite(overall.loc[final, column])
        others = {name: _finite(overall.loc[name, column]) for name in (EMPIRICAL, SCRATCH)
                  if name in overall.index}
        out.append(Criterion("test errors", f"{column} ≤ {limit:g} {ERROR_UNITS[column]}", value,
                             f"≤ {limit:g}", value is not None and value <= limit,
                             _interval(overall.loc[final], column)))
        for name, other in others.items():
            out.append(Criterion("test errors", f"{column} below {name}", value,
                                 f"< {other:.4g}" if other is not None else "< (not measured)",
                                 value is not None and other is not None and value < other))
        if final != ONE_SHOT:
            one_shot = overall.loc[ONE_SHOT]
            bound = _finite(one_shot.get(f"{column}_high", one_shot[column]))
            out.append(Criterion("test errors", f"{column} no worse than {ONE_SHOT}", value,
                                 f"≤ {bound:.4g}" if bound is not None else "≤ (not measured)",
                                 value is not None and bound is not None and value <= bound,
                                 f"{ONE_SHOT}: {float(one_shot[column]):.4g}, interval "
                                 f"{_interval(one_shot, column, bare=True)}"))
    return out


def loading_criteria(loading: pd.DataFrame, limits: Limits, final: str = ONE_SHOT) -> list[Criterion]:
    """MAEs of the ``final`` model on the unseen-loading cells (:func:`ionnp.evaluate.loading.loading_errors`,
    all cells together): below the limits, below the empirical potential's and, for a refined
    model, below the one-shot model's."""
    overall = loading[loading.group == "all"].set_index("variant")
    out = []
    for column, limit in limits.unseen.items():
        unit = UNSEEN_UNITS[column]
        value = _finite(overall.loc[final, column]) if final in overall.index else None
        out.append(Criterion("unseen loading", f"{column} ≤ {limit:g} {unit}", value, f"≤ {limit:g}",
                             value is not None and value <= limit,
                             f"{int(overall.loc[final, 'n_structures'])} cells" if value is not None else "not measured"))
        for name in (EMPIRICAL, ONE_SHOT) if final != ONE_SHOT else (EMPIRICAL,):
            other = _finite(overall.loc[name, column]) if name in overall.index else None
            out.append(Criterion("unseen loading", f"{column} below {name}", value,
                                 f"< {other:.4g}" if other is not None else "< (not measured)",
                                 value is not None and other is not None and value < other))
    return out


def eos_criteria(fits: pd.DataFrame, transitions: pd.DataFrame, stress_check: Mapping[str, Any],
                 limits: Limits) -> list[Criterion]:
    """NNP against DFT on the same equation-of-state cells: V0, B0, the ground state, the
    transition pressure from the ground state (``transitions.start``) to ``limits.transition_phase``, and the
    stress offset of the DFT labels the models learn and are tested on: ``stress_check``
    (:func:`ionnp.evaluate.eos.stress_check`) per phase, after the Pulay correction."""
    fits = fits.set_index(["method", "phase"])
    reference = str(transitions.start.iloc[0])  # the ground state, where every transition starts
    phases = [reference] + [p for p in dict.fromkeys(fits.index.get_level_values("phase")) if p != reference]
    out = []
    for phase in phases:
        dft, nnp = fits.loc[("DFT", phase)], fits.loc[("NNP", phase)]
        for key, tolerance in (("v0_a3", limits.v0_tolerance), ("b0_gpa", limits.b0_tolerance)):
            deviation = _finite(nnp[key] / dft[key] - 1.0)
            out.append(Criterion("equation of state", f"{phase} NNP {key} within {100 * tolerance:g} % of DFT",
                                 deviation, f"|Δ| ≤ {tolerance:g}",
                                 deviation is not None and abs(deviation) <= tolerance,
                                 f"NNP {nnp[key]:.4g}, DFT {dft[key]:.4g}"))
        offset = _finite(stress_check["residual_offset_gpa"][phase])
        out.append(Criterion("equation of state", f"{phase} DFT stress offset below {limits.max_stress_offset_gpa:g} GPa",
                             offset, f"|offset| < {limits.max_stress_offset_gpa:g}",
                             offset is not None and abs(offset) < limits.max_stress_offset_gpa,
                             f"raw {stress_check['stress_offset_gpa'][phase]:.3g} GPa, Pulay pressure removed from the labels "
                             f"{stress_check['pulay_pressure_gpa']:.3g} GPa"))
    nnp_e0 = {phase: float(fits.loc[("NNP", phase), "e0_ev"]) for phase in phases}
    lowest = min(nnp_e0, key=nnp_e0.get)
    others = [e0 for phase, e0 in nnp_e0.items() if phase != phases[0]]
    gap = _finite(min(others) - nnp_e0[phases[0]]) if others else None
    out.append(Criterion("equation of state", f"{phases[0]} the NNP's ground state", gap,
                         "E0 of the next phase − E0 > 0 (eV/f.u.)", lowest == phases[0],
                         f"lowest NNP phase: {lowest}"))
    if limits.transition_phase is None:  # prototypes.roles.high_pressure: null
        return out
    # the transition the criterion is about: from the ground state to the high-pressure phase
    # (the table holds one row per method and phase when eos.phases has more than two)
    table = transitions[(transitions.start == phases[0]) & (transitions.phase == limits.transition_phase)]
    table = table.set_index("method")
    pressures = {m: _finite(table.loc[m, "pressure_gpa"]) if m in table.index else None for m in ("DFT", "NNP")}
    difference = (None if None in pressures.values() else pressures["NNP"] - pressures["DFT"])
    out.append(Criterion("equation of state", f"NNP transition pressure within {limits.transition_tolerance_gpa:g} GPa of DFT",
                         difference, f"|Δ| ≤ {limits.transition_tolerance_gpa:g} GPa",
                         difference is not None and abs(difference) <= limits.transition_tolerance_gpa,
                         f"NNP {pressures['NNP']}, DFT {pressures['DFT']} GPa"))
    return out


def md_criteria(summary: Mapping[str, Any], nve: pd.DataFrame, max_spread: float | None,
                limits: Limits) -> list[Criterion]:
    """The NVE run: long enough, large enough, energy conserved, inside the training data."""
    duration = float(nve.time_ps.iloc[-1])
    drift = _finite(summary["nve_drift_mev_per_atom_per_ps"])
    spread = _finite(summary["nve_max_spread_mev_per_atom"])
    left = summary["nve_left_the_data"]
    return [
        Criterion("MD", f"NVE run of at least {limits.min_nve_ps:g} ps", duration, f"≥ {limits.min_nve_ps:g} ps",
                  duration >= limits.min_nve_ps),
        Criterion("MD", f"at least {limits.min_md_atoms} atoms", float(summary["n_atoms"]), f"≥ {limits.min_md_atoms}",
                  summary["n_atoms"] >= limits.min_md_atoms),
        Criterion("MD", f"NVE drift below {limits.max_drift:g} meV/atom/ps", drift, f"|drift| < {limits.max_drift:g}",
                  drift is not None and abs(drift) < limits.max_drift),
        Criterion("MD", "ensemble spread below the threshold throughout", spread,
                  f"< {max_spread} meV/atom", max_spread is not None and left is None,
                  "" if left is None else f"left the data: {left}"),
    ]


def charge_criteria(q_eff: Mapping[str, Any], metrics: pd.DataFrame, lt_models: pd.DataFrame,
                    amplitude: float, limits: Limits) -> list[Criterion]:
    """The frozen-modulation charge: in the plausible window, trusted to ``max_q_error``, near q_DFPT, and
    where the fine-tuned models' held-out L − T energy error (``lt_models``:
    :func:`ionnp.evaluate.modulations.model_lt_table`, at ``amplitude``) is lowest. Where their
    test errors over the q grid are lowest (energy and forces) is reported as a diagnostic: with
    labels of a known charge it lies at q = 0–0.5 on every test-cell size up to 192 atoms
    (docs/validation.md), so it does not measure the charge."""
    lt = q_eff["estimators"]["lt"]
    q, q_error = float(lt["q"]), float(lt["q_error"])
    low, high = limits.q_window
    out = [Criterion("effective charge", f"q_L/T in {low}–{high} e", q, f"{low:g} ≤ q ≤ {high:g}",
                     low <= q <= high, f"q_eff = {q_eff['q_eff']:.4g} e ({q_eff['method']})"),
           Criterion("effective charge", f"q_L/T uncertainty at most {limits.max_q_error:g} e", q_error,
                     f"≤ {limits.max_q_error:g} e", q_error <= limits.max_q_error)]
    dfpt = q_eff["estimators"]["dfpt"]
    out.append(Criterion("effective charge", f"q_DFPT within {limits.dfpt_tolerance:g} e of q_L/T",
                         float(dfpt["q"]) - q, f"|Δ| ≤ {limits.dfpt_tolerance:g} e",
                         abs(float(dfpt["q"]) - q) <= limits.dfpt_tolerance,
                         f"q_DFPT = {dfpt['q']:.4g} e (k-point change {dfpt['q_error']}), "
                         f"ε∞ = {dfpt['epsilon_inf']:.3g}"))
    overall = metrics[metrics.group == "all"]
    grid = overall[overall.variant.str.startswith("finetune_q") & (overall.variant != ONE_SHOT)]
    for column, what in (("energy_rmse_mev_per_atom", "energy"), ("force_rmse_mev_per_a", "force")):
        if len(grid) < 2:
            out.append(Criterion("effective charge", f"fine-tuned {what} error lowest near q_L/T", None,
                                 f"within {limits.training_q_tolerance:g} e", False, "fewer than 2 q on the grid",
                                 diagnostic=True))
            continue
        best = grid.loc[grid[column].idxmin()]
        distance = float(best.q) - q
        out.append(Criterion("effective charge", f"fine-tuned {what} error lowest near q_L/T", distance,
                             f"|q_best − q_L/T| ≤ {limits.training_q_tolerance:g} e",
                             abs(distance) <= limits.training_q_tolerance,
                             f"lowest at q = {float(best.q):g} e; per q: " + ", ".join(
                                 f"{float(r.q):g}: {float(r[column]):.3g} ({_interval(r, column, bare=True)})"
                                 for _, r in grid.sort_values("q").iterrows()), diagnostic=True))
    grid_models = lt_models[lt_models.variant.str.startswith("finetune_q") & (lt_models.variant != ONE_SHOT)]
    errors = rms_errors(grid_models, amplitude)
    if len(errors) < 2:
        out.append(Criterion("effective charge", "NNP L − T error lowest near q_L/T", None,
                             f"within {limits.training_q_tolerance:g} e", False, "fewer than 2 q on the grid"))
        return out
    charges = grid_models.groupby("variant").q.first()
    best_q = float(charges[errors.idxmin()])
    out.append(Criterion("effective charge", "NNP L − T error lowest near q_L/T", best_q - q,
                         f"|q_best − q_L/T| ≤ {limits.training_q_tolerance:g} e",
                         abs(best_q - q) <= limits.training_q_tolerance,
                         f"lowest RMS error {errors.min():.3g} meV/cell at q = {best_q:g} e"))
    return out


def split_criteria(split: pd.DataFrame, limits: Limits) -> list[Criterion]:
    """Validation and test splits large enough to decide anything."""
    counts = split.split.value_counts()
    return [Criterion("data", f"{name} split of at least {limits.min_split} structures", float(counts.get(name, 0)),
                      f"≥ {limits.min_split}", counts.get(name, 0) >= limits.min_split) for name in ("valid", "test")]


def all_criteria(metrics: pd.DataFrame, fits: pd.DataFrame, transitions: pd.DataFrame,
                 md_summary: Mapping[str, Any], nve: pd.DataFrame, split: pd.DataFrame,
                 max_spread: float | None, q_eff: Mapping[str, Any], lt_models: pd.DataFrame,
                 amplitude: float, stress_check: Mapping[str, Any], loading: pd.DataFrame,
                 limits: Limits, final: str = ONE_SHOT) -> list[Criterion]:
    """Every criterion, in report order; ``final`` names the final model's variant (a refined
    model is judged against the one-shot model too)."""
    return (error_criteria(metrics, limits, final) + loading_criteria(loading, limits, final)
            + eos_criteria(fits, transitions, stress_check, limits)
            + md_criteria(md_summary, nve, max_spread, limits)
            + charge_criteria(q_eff, metrics, lt_models, amplitude, limits) + split_criteria(split, limits))


def verdict(criteria: list[Criterion]) -> tuple[int, int]:
    """(held, judged): the acceptance criteria that hold, of those judged (diagnostics left out)."""
    judged = [c for c in criteria if not c.diagnostic]
    return sum(c.passed for c in judged), len(judged)


def write_json(criteria: list[Criterion], path: str | os.PathLike) -> None:
    """``{"passed": n, "failed": n, "criteria": [...]}`` (atomically); the counts leave the
    diagnostics out, the list holds them (``"diagnostic": true``)."""
    from ionnp.io import atomic_path

    held, judged = verdict(criteria)
    payload = {"passed": held, "failed": judged - held, "criteria": [asdict(c) for c in criteria]}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1))


def markdown(criteria: list[Criterion], title: str) -> str:
    """A Markdown report: a summary line, one table row per criterion, then the diagnostics'
    table (measured and judged alike, not counted)."""
    held, judged = verdict(criteria)
    header = ["| group | criterion | measured | target | holds | note |", "|---|---|---|---|---|---|"]
    lines = [f"# {title}", "", f"{held} of {judged} criteria hold.", "", *header]
    lines += [_row(c) for c in criteria if not c.diagnostic]
    diagnostics = [c for c in criteria if c.diagnostic]
    if diagnostics:
        lines += ["", "## Diagnostics (reported, not acceptance criteria)", "", *header]
        lines += [_row(c) for c in diagnostics]
    return "\n".join(lines) + "\n"


def _row(c: Criterion) -> str:
    measured = "not measured" if c.measured is None else f"{c.measured:.4g}"
    return f"| {c.group} | {c.name} | {measured} | {c.target} | {'yes' if c.passed else '**no**'} | {c.note} |"


__all__ = ["Criterion", "all_criteria", "charge_criteria", "eos_criteria", "error_criteria", "loading_criteria",
           "markdown", "md_criteria", "split_criteria", "verdict", "write_json"]
