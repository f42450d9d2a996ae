"""The pressure ramp: transition pressures of hand-made traces, and short ramps in LAMMPS with
the empirical potential and a small model (the machinery, not the physics)."""

import numpy as np
import pandas as pd
import pytest
from ase.units import GPa

from ionnp.evaluate.transition import (
    RampSettings,
    empirical_ramp,
    nnp_ramp,
    transition_pressures,
    transition_table,
)
from ionnp.evaluate.eos import BirchMurnaghan
from ionnp.sampling.prototypes import build
from reference import ZNO
from tiny_models import potential


WURTZITE = BirchMurnaghan(e0=-10.0, v0=24.7, b0=145.0 * GPa, b0_prime=4.0)
ROCKSALT_V0 = 19.9  # collapse 0.806: transformed below 0.903 of V_wz(P)


def _trace(ratios, pressures):
    """Four rows per block at volume ratio × V_wz(P); the first half of each block still at
    the previous block's ratio."""
    rows, previous = [], ratios[0]
    for block, (ratio, p) in enumerate(zip(ratios, pressures)):
        for k in range(4):
            volume = (previous if k < 2 else ratio) * WURTZITE.volume(p * GPa)
            rows.append({"block": block, "target_gpa": p, "volume_per_fu": volume, "step": 4 * block + k})
        previous = ratio
    return pd.DataFrame(rows)


def test_forward_backward_and_hysteresis():
    ramp = [0, 10, 20, 30, 20, 10, 0]
    trace = _trace([1.0, 0.99, 0.98, 0.82, 0.82, 0.83, 0.99], ramp)
    found = transition_pressures(trace, WURTZITE, ROCKSALT_V0)
    assert found["volume_ratio_threshold"] == pytest.approx(0.5 * (1 + 19.9 / 24.7))
    assert (found["forward_gpa"], found["backward_gpa"], found["hysteresis_gpa"]) == (30.0, 0.0, 30.0)
    late = transition_pressures(_trace([1.0, 0.99, 0.98, 0.95, 0.82, 0.82, 0.84], ramp), WURTZITE, ROCKSALT_V0)
    assert (late["forward_gpa"], late["backward_gpa"]) == (30.0, None)  # set off at the top, kept
    stays = transition_pressures(_trace([1.0, 0.99, 0.97, 0.95, 0.97, 0.99, 1.0], ramp), WURTZITE, ROCKSALT_V0)
    assert stays["forward_gpa"] is None and stays["backward_gpa"] is None
    table = transition_table({"nnp": trace}, {"nnp": (WURTZITE, ROCKSALT_V0)}, dft_gpa=10.7)
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
