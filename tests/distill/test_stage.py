"""ionnp.distill.stage: the configured method on a pool, and the table of its picks."""

import numpy as np
from ase import Atoms

from ionnp.distill.stage import distill, selection_table


def pool(n=40):
    frames = []
    for k in range(n):
        atoms = Atoms("ZnO", positions=[[0, 0, 0], [1.9 + 0.01 * k, 0, 0]], cell=[6, 6, 6], pbc=True)
        atoms.info.update(phase="rocksalt" if k % 2 else "wurtzite", run_temperature_k=1200.0,
                          run_pressure_gpa=float(10 * (k % 4)), cv=4.0 + k / n, virial_pressure_gpa=5.0)
        frames.append(atoms)
    return frames


def test_fps_picks_nested_sets_and_the_table_lists_them():
    frames = pool()
    features = np.random.default_rng(0).normal(size=(len(frames), 3))
    result = distill(frames, features, {"method": "fps", "n_pretrain": 12, "n_dft": 5})
    pretrain, dft = result.selection.pretrain.indices, result.selection.dft.indices
    assert len(pretrain) == 12 and len(dft) == 5 and set(dft) <= set(pretrain) and result.rounds is None
    table = selection_table(frames, result)
    assert list(table.set) == ["pretrain"] * 12 + ["dft"] * 5 and "round" not in table
    assert list(table.phase) == [frames[i].info["phase"] for i in table.pool_index]


def test_stratified_spreads_the_dft_budget_over_phase_and_pressure():
    frames = pool()
    features = np.random.default_rng(1).normal(size=(len(frames), 3))
    result = distill(frames, features, {"method": "stratified", "n_pretrain": 20, "n_dft": 8,
                                        "max_pressure_gpa": None, "min_contact": None})
    picked = {(frames[i].info["phase"], frames[i].info["run_pressure_gpa"]) for i in result.selection.dft.indices}
    assert len(picked) == 4  # every (phase, pressure) stratum of the pool: 2 phases x 2 pressures each
