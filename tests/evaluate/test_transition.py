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
from reference import ZNO, zno_cell
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
                  timestep_fs=1.0, every=20, frames_every=40, max_spread_mev_per_atom=None, cv_r0=2.6)
    values.update(changes)
    return RampSettings(**values)


def test_ramp_settings_go_up_and_back():
    assert _settings(pressures_gpa=(0.0, 10.0, 20.0)).ramp == [0.0, 10.0, 20.0, 10.0, 0.0]


def test_empirical_ramp_compresses(default_config):
    from ionnp.potential import RigidIonPotential

    atoms = zno_cell("wurtzite", (2, 2, 1))
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
    atoms = zno_cell("wurtzite", (2, 2, 1))
    trace, _ = nnp_ramp(atoms, model, _settings(steps_per_pressure=40), ZNO, seed=3)
    assert len(trace) == 3 * 2 and (trace.spread_mev_per_atom > 0).all()
    # a threshold below the members' disagreement stops at the first row and keeps it
    stopped, _ = nnp_ramp(atoms, model, _settings(max_spread_mev_per_atom=1e-6), ZNO, seed=3)
    assert len(stopped) == 1 and stopped.step.iloc[0] == 20


KILL_AFTER_BLOCK = """
import os, signal, sys
sys.path.insert(0, {tests!r})
import ionnp.evaluate.transition as transition
from ionnp.config import validate_config
from ionnp.potential import RigidIonPotential
from reference import ZNO, zno_cell

save = transition.Checkpoint.save
def save_then_die(self, block, *args):
    save(self, block, *args)
    if block == 2:  # killed as by a wall time, right after block 2 was recorded
        os.kill(os.getpid(), signal.SIGKILL)
transition.Checkpoint.save = save_then_die
settings = transition.RampSettings(**{settings!r})
transition.empirical_ramp(zno_cell("wurtzite", (2, 2, 1)),
                          RigidIonPotential.from_config(validate_config({{}})["potential"]),
                          settings, ZNO, seed=3, checkpoint_dir={checkpoints!r})
"""


def test_a_killed_ramp_resumes_after_its_last_finished_block(tmp_path, caplog):
    """SIGKILL after block 2 of 5; the rerun logs its resume, keeps blocks 0-2 exactly as an
    uninterrupted run computes them (not recomputed) and runs blocks 3-4 to the end."""
    import dataclasses
    import logging
    import signal
    import subprocess
    import sys

    from conftest import REPO

    from ionnp.potential import RigidIonPotential

    settings = _settings(pressures_gpa=(0.0, 10.0, 20.0))
    checkpoints = tmp_path / "checkpoint"
    script = KILL_AFTER_BLOCK.format(tests=str(REPO / "tests"), settings=dataclasses.asdict(settings),
                                     checkpoints=str(checkpoints))
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert (checkpoints / "state.npz").exists()

    atoms, potential = zno_cell("wurtzite", (2, 2, 1)), RigidIonPotential.from_config(
        __import__("ionnp.config", fromlist=["validate_config"]).validate_config({})["potential"])
    with caplog.at_level(logging.INFO, logger="ionnp.evaluate.transition"):
        resumed, frames = empirical_ramp(atoms, potential, settings, ZNO, seed=3, checkpoint_dir=checkpoints)
    assert "resumed after block 2 (20 GPa, step 300)" in caplog.text
    whole, whole_frames = empirical_ramp(atoms, potential, settings, ZNO, seed=3)
    finished = whole.block <= 2
    pd.testing.assert_frame_equal(resumed[finished], whole[finished])
    assert list(resumed.block) == list(whole.block) and list(resumed.step) == list(whole.step)
    assert len(frames) == len(whole_frames)
    # the restored state is the killed run's: the first row after it continues the same cell
    assert resumed.volume_per_fu.iloc[finished.sum()] == pytest.approx(whole.volume_per_fu.iloc[finished.sum()],
                                                                       rel=1e-3)


def test_a_checkpoint_of_another_ramp_is_not_reused(tmp_path, default_config):
    from ionnp.potential import RigidIonPotential

    atoms = zno_cell("wurtzite", (2, 2, 1))
    potential = RigidIonPotential.from_config(default_config["potential"])
    empirical_ramp(atoms, potential, _settings(), ZNO, seed=3, checkpoint_dir=tmp_path)
    other, _ = empirical_ramp(atoms, potential, _settings(), ZNO, seed=4, checkpoint_dir=tmp_path)
    fresh, _ = empirical_ramp(atoms, potential, _settings(), ZNO, seed=4)
    pd.testing.assert_frame_equal(other, fresh)
