"""The rounds table from hand-made summaries, metrics and benchmark files; the ramp against the
lower trust level."""

import pandas as pd
import pytest

from ionnp.refine.report import benchmark_core_seconds, ramp_against_trust, rounds_table


def summary(selected, explored=100, above=0.2):
    return {"explored": explored, "known": 80, "candidates": 15, "unphysical": 5, "fraction_above_low": above,
            "converged": above < 0.05, "selected": list(range(selected))}


def test_rounds_table_adds_up_structures_errors_and_costs(tmp_path):
    variants = ["finetune_qeff", "refine_r1", "refine_r2"]
    metrics = pd.DataFrame({"group": "all", "variant": variants, "energy_rmse_mev_per_atom": [5.0, 4.0, 3.5],
                            "force_rmse_mev_per_a": [90, 80, 75], "stress_rmse_gpa": [0.3, 0.3, 0.2]})
    loading = pd.DataFrame({"group": "all", "variant": variants, "energy_mae_mev_per_atom": [9.0, 7.0, 6.0],
                            "force_mae_mev_per_a": [80, 70, 60], "stress_mae_gpa": [0.3, 0.2, 0.15]})
    header = "s\th:m:s\tmax_rss\n"
    paths = []
    for r, step, seconds in [(1, "explore", 360.0), (1, "dft", 720.0), (2, "train", 36.0)]:
        path = tmp_path / f"round{r}_{step}.tsv"
        path.write_text(header + f"{seconds}\t0:00:00\t1\n")
        paths.append(path)
    seconds = benchmark_core_seconds(paths, {"explore": 1, "dft": 4, "train": 1})
    assert seconds == {1: {"explore": 360.0, "dft": 2880.0}, 2: {"train": 36.0}}
    table = rounds_table([summary(12), summary(7, above=0.03)], metrics, loading, seconds)
    assert table["round"].tolist() == [0, 1, 2] and table.model.tolist() == variants
    assert table.dft_structures_added.tolist() == [0, 12, 19]
    assert table.unseen_energy_mae_mev_per_atom.tolist() == [9.0, 7.0, 6.0]
    assert table.loc[1, "dft_cpu_hours"] == pytest.approx(0.8) and table.loc[2, "train_cpu_hours"] == pytest.approx(0.01)
    assert table.converged.tolist()[1:] == [False, True]


def test_the_ramp_against_the_lower_trust_level():
    trace = pd.DataFrame({"step": [20, 40, 60, 80], "target_gpa": [0, 0, 10, 10],
                          "spread_mev_per_atom": [2.0, 3.0, 12.0, 8.0]})
    result = ramp_against_trust(trace, low=5.0)
    assert result["fraction_above_low"] == 0.5 and not result["stayed_below"]
    assert result["first_above"] == {"step": 60, "target_gpa": 10.0, "spread_mev_per_atom": 12.0}
    assert ramp_against_trust(trace, low=20.0)["stayed_below"] and ramp_against_trust(trace, low=20.0)["first_above"] is None
