"""The pressure ramp: transition pressures of hand-made traces, and short ramps in LAMMPS with
the empirical potential and a small model (the machinery, not the physics)."""

import numpy as np
import pandas as pd
import pytest

from ionnp.evaluate.transition import (
    RampSettings,
    empirical_ramp,
    nnp_ramp,
    transition_pressures,
    transition_table,
)
from ionnp.sampling.prototypes import build
from reference import ZNO
from tiny_models import potential


def _trace(block_cvs, pressures):
    """Four rows per block; the first half of each block still at the previous block's CV."""
    rows, previous = [], block_cvs[0]
    for block, (cv, p) in enumerate(zip(block_cvs, pressures)):
        for k in range(4):
            rows.append({"block": block, "target_gpa": p, "cv": previous if k < 2 else cv, "step": 4 * block + k})
        previous = cv
    return pd.DataFrame(rows)


def test_forward_backward_and_hysteresis():
    ramp = [0, 10, 20, 30, 20, 10, 0]
    trace = _trace([4.0, 4.0, 4.1, 5.8, 5.8, 5.7, 4.2], ramp)
    found = transition_pressures(trace, cv_rocksalt=6.0)
    assert found["cv_midpoint"] == pytest.approx(5.0)
    assert (found["forward_gpa"], found["backward_gpa"], found["hysteresis_gpa"]) == (30.0, 0.0, 30.0)
    stays = transition_pressures(_trace([4.0, 4.0, 4.1, 4.2, 4.1, 4.0, 4.0], ramp), 6.0)
    assert stays["forward_gpa"] is None and stays["backward_gpa"] is None
    table = transition_table({"nnp": trace}, 6.0, dft_gpa=10.7)
    assert table.overpressure_gpa.iloc[0] == pytest.approx(19.3)


def _settings(**changes):
    values = dict(supercell=(2, 2, 1), temperature_k=300.0, pressures_gpa=(0.0, 40.0), steps_per_pressure=100,
                  timestep_fs=1.0, every=20, frames_every=40, max_spread_mev_per_atom=None)
    values.update(changes)
    return RampSettings(**values)


def test_ramp_settings_go_up_and_back():
    assert _settings(pressures_gpa=(0.0, 10.0, 20.0)).ramp == [0.0, 10.0, 20.0, 10.0, 0.0]


def test_empirical_ramp_compresses(default_config):
    from ionnp.sampling.potential import RigidIonPotential

    atoms = build("wurtzite", ZNO, (2, 2, 1))
    trace, frames = empirical_ramp(atoms, RigidIonPotential.from_config(default_config["potential"]),
                                   _settings(), ZNO, seed=3)
    assert len(trace) == 3 * 5 and list(trace.target_gpa.unique()) == [0.0, 40.0]
    blocks = trace.groupby("block").volume_per_fu.last()
    assert blocks[1] < 0.9 * blocks[0] and blocks[2] > blocks[1]  # squeezed at 40 GPa, then released
    assert trace.spread_mev_per_atom.isna().all() and len(frames) == 300 // 40
    np.testing.assert_allclose(trace.step, np.arange(20, 301, 20))


def test_nnp_ramp_and_its_spread_guard(tmp_path):
    model = tmp_path / "model.pt"
    potential(0.9).save(model)
    atoms = build("wurtzite", ZNO, (2, 2, 1))
    trace, _ = nnp_ramp(atoms, model, _settings(steps_per_pressure=40), ZNO, seed=3)
    assert len(trace) == 3 * 2 and (trace.spread_mev_per_atom > 0).all()
    # a threshold below the members' disagreement stops at the first row and keeps it
    stopped, _ = nnp_ramp(atoms, model, _settings(max_spread_mev_per_atom=1e-6), ZNO, seed=3)
    assert len(stopped) == 1 and stopped.step.iloc[0] == 20
