"""Error metrics of predictions against references, per group (polymorph, pressure bin, ...).

One function computes every number of ``results/evaluate/metrics.csv``: energy RMSE and MAE per
atom (meV/atom), force component RMSE and MAE (meV/Å) and stress component RMSE and MAE (GPa),
each RMSE with a percentile-bootstrap interval over the structures (a test split of ~10–20
structures makes differences of tens of percent between models noise; the interval says which).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from ase.units import GPa


def error_table(
    n_atoms: Sequence[int],
    energy_pred: Sequence[float], energy_ref: Sequence[float],
    forces_pred: Sequence[np.ndarray], forces_ref: Sequence[np.ndarray],
    stress_pred: Sequence[np.ndarray], stress_ref: Sequence[np.ndarray],
    groups: dict[str, Sequence[object]],
    *,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Errors over all structures and per value of each grouping.

    Args:
        n_atoms: atoms per structure.
        energy_*: energies (eV). forces_*: (N, 3) arrays (eV/Å). stress_*: (6,) (eV/Å³).
        groups: grouping name → one label per structure (e.g. {"phase": [...]}).
        bootstrap, confidence, seed: resamples of the structures (with replacement, all
            components of a structure together), the central interval's coverage and the
            resampling seed of the RMSE intervals.

    Returns:
        Rows (group, value, n_structures, energy_rmse_mev_per_atom, energy_mae_mev_per_atom,
        force_rmse_mev_per_a, force_mae_mev_per_a, stress_rmse_gpa, stress_mae_gpa, and per
        RMSE its interval ``<rmse column>_low``, ``_high``); the first row is group "all".
    """
    n = np.asarray(n_atoms, dtype=float)
    de = 1000.0 * (np.asarray(energy_pred) - np.asarray(energy_ref)) / n
    df = [1000.0 * (np.asarray(p) - np.asarray(r)).ravel() for p, r in zip(forces_pred, forces_ref)]
    ds = [(np.asarray(p) - np.asarray(r)).ravel() / GPa for p, r in zip(stress_pred, stress_ref)]

    squares = {"energy_rmse_mev_per_atom": (de**2, np.ones(len(n))),
               "force_rmse_mev_per_a": (np.array([x @ x for x in df]), np.array([x.size for x in df])),
               "stress_rmse_gpa": (np.array([x @ x for x in ds]), np.array([x.size for x in ds]))}
    rng = np.random.default_rng(seed)

    def row(group: str, value: object, members: np.ndarray) -> dict:
        f = np.concatenate([df[k] for k in members])
        s = np.concatenate([ds[k] for k in members])
        e = de[members]
        out = dict(group=group, value=value, n_structures=len(members),
                   energy_rmse_mev_per_atom=float(np.sqrt(np.mean(e**2))),
                   energy_mae_mev_per_atom=float(np.mean(np.abs(e))),
                   force_rmse_mev_per_a=float(np.sqrt(np.mean(f**2))),
                   force_mae_mev_per_a=float(np.mean(np.abs(f))),
                   stress_rmse_gpa=float(np.sqrt(np.mean(s**2))),
                   stress_mae_gpa=float(np.mean(np.abs(s))))
        draws = members[rng.integers(0, len(members), size=(bootstrap, len(members)))]
        tail = (1 - confidence) / 2
        for column, (sums, counts) in squares.items():
            resampled = np.sqrt(sums[draws].sum(axis=1) / counts[draws].sum(axis=1))
            out[f"{column}_low"], out[f"{column}_high"] = np.quantile(resampled, [tail, 1 - tail])
        return out

    rows = [row("all", "all", np.arange(len(n)))]
    for group, labels in groups.items():
        labels = np.asarray(labels, dtype=object)
        for value in sorted(set(labels), key=str):
            rows.append(row(group, value, np.flatnonzero(labels == value)))
    return pd.DataFrame(rows)
