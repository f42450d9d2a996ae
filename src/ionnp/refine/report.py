"""The rounds side by side: what each explored and chose, its model's errors on the test split
and the unseen-loading cells, and its cost; and where the final model's large-scale ramp left
the lower trust level."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

#: The one-shot model each round is compared with (round 0).
ONE_SHOT = "finetune_qeff"
#: Error columns reported per round: test split (RMSE) and unseen loading (MAE).
TEST_COLUMNS = ("energy_rmse_mev_per_atom", "force_rmse_mev_per_a", "stress_rmse_gpa")
UNSEEN_COLUMNS = ("energy_mae_mev_per_atom", "force_mae_mev_per_a", "stress_mae_gpa")


def rounds_table(summaries: Sequence[Mapping[str, Any]], metrics: pd.DataFrame, loading: pd.DataFrame,
                 core_seconds: Mapping[int, Mapping[str, float]]) -> pd.DataFrame:
    """One row per round (round 0: the one-shot model): the selection's counts, the cumulative
    DFT structures the rounds added, the model's test RMSEs and unseen MAEs (all structures),
    and the CPU-hours of its exploration, DFT and training (``core_seconds[round][step]``)."""
    test = metrics[metrics.group == "all"].set_index("variant")
    unseen = loading[loading.group == "all"].set_index("variant")
    rows, added = [], 0
    for r in range(len(summaries) + 1):
        model = ONE_SHOT if r == 0 else f"refine_r{r}"
        row: dict[str, Any] = {"round": r, "model": model}
        if r > 0:
            s = summaries[r - 1]
            added += len(s["selected"])
            row.update(explored=s["explored"], known=s["known"], candidates=s["candidates"],
                       unphysical=s["unphysical"], fraction_above_low=s["fraction_above_low"],
                       converged=s["converged"], selected=len(s["selected"]))
            row.update({f"{step}_cpu_hours": seconds / 3600 for step, seconds in core_seconds.get(r, {}).items()})
        row["dft_structures_added"] = added
        row.update({f"test_{c}": test.loc[model, c] for c in TEST_COLUMNS if model in test.index})
        row.update({f"unseen_{c}": unseen.loc[model, c] for c in UNSEEN_COLUMNS if model in unseen.index})
        rows.append(row)
    return pd.DataFrame(rows)


def ramp_against_trust(trace: pd.DataFrame, low: float) -> dict[str, Any]:
    """Where the final model's ramp (rows of the NNP transition trace) left the lower trust level
    (meV/atom): the largest spread, the fraction of rows above it, and the first such row's step,
    target pressure and spread (None if the spread stayed below)."""
    above = trace[trace.spread_mev_per_atom > low]
    first = None if above.empty else {"step": int(above.step.iloc[0]), "target_gpa": float(above.target_gpa.iloc[0]),
                                      "spread_mev_per_atom": float(above.spread_mev_per_atom.iloc[0])}
    return {"trust_low_mev_per_atom": low, "max_spread_mev_per_atom": float(trace.spread_mev_per_atom.max()),
            "fraction_above_low": float(len(above) / len(trace)) if len(trace) else 0.0,
            "stayed_below": above.empty, "first_above": first}


def benchmark_core_seconds(paths: Sequence[str | Path], threads: Mapping[str, int]) -> dict[int, dict[str, float]]:
    """Core-seconds per round and step from Snakemake benchmark files named
    ``round{r}_{step}.tsv`` (wall time × the step's cores, ``threads[step]``)."""
    out: dict[int, dict[str, float]] = {}
    for path in paths:
        name = Path(path).stem  # round3_explore
        r, step = name.removeprefix("round").split("_", 1)
        wall = float(pd.read_csv(path, sep="\t")["s"].sum())
        out.setdefault(int(r), {})[step] = wall * threads.get(step, 1)
    return out


__all__ = ["ONE_SHOT", "benchmark_core_seconds", "ramp_against_trust", "rounds_table"]
