"""Frames round-trip through the database bit for bit."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.frames import merge_frames, read_frames, stratum, write_frames


def _frame(seed):
    rng = np.random.default_rng(seed)
    atoms = bulk("ZnO", "rocksalt", a=4.3, cubic=True)
    atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
    atoms.info.update(phase="rocksalt", step=seed, cv=rng.random(), buck_stress=rng.random(6))
    atoms.arrays["buck_energies"] = rng.random(len(atoms)) / 3.0
    atoms.calc = SinglePointCalculator(atoms, energy=rng.random() / 7.0,
                                       forces=rng.random((len(atoms), 3)), stress=rng.random(6))
    return atoms


def test_round_trip_keeps_full_precision(tmp_path):
    frames = [_frame(k) for k in range(3)]
    assert write_frames(tmp_path / "f.db", frames) == 3
    back = read_frames(tmp_path / "f.db")
    for a, b in zip(frames, back):
        assert b.info["phase"] == "rocksalt" and b.info["step"] == a.info["step"]
        assert b.info["cv"] == a.info["cv"]
        np.testing.assert_array_equal(b.info["buck_stress"], a.info["buck_stress"])
        np.testing.assert_array_equal(b.arrays["buck_energies"], a.arrays["buck_energies"])
        np.testing.assert_array_equal(b.positions, a.positions)
        assert b.get_potential_energy() == a.get_potential_energy()
        np.testing.assert_array_equal(b.get_forces(), a.get_forces())
        np.testing.assert_array_equal(b.get_stress(), a.get_stress())


def test_merge_and_rewrite(tmp_path):
    write_frames(tmp_path / "a.db", [_frame(0)])
    write_frames(tmp_path / "b.db", [_frame(1), _frame(2)])
    assert merge_frames([tmp_path / "a.db", tmp_path / "b.db"], tmp_path / "m.db") == 3
    assert [f.info["step"] for f in read_frames(tmp_path / "m.db")] == [0, 1, 2]
    write_frames(tmp_path / "m.db", [_frame(5)])  # overwrite, not append
    assert len(read_frames(tmp_path / "m.db")) == 1


def test_stratum_names_the_run_or_the_phase_of_eos_cells():
    sampled = Atoms("ZnO", info={"phase": "wurtzite", "run_temperature_k": 600.0, "run_pressure_gpa": 10.0,
                                 "source": "sampling"})
    eos = Atoms("ZnO", info={"phase": "rocksalt", "run_temperature_k": 0.0, "run_pressure_gpa": 3.7,
                             "source": "eos"})
    assert (stratum(sampled), stratum(eos)) == ("wurtzite 600 K 10 GPa", "rocksalt eos")
    with pytest.raises(KeyError):
        stratum(Atoms("ZnO", info={"phase": "wurtzite"}))
