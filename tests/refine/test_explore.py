"""Exploration runs in LAMMPS with a small model: the deformation reaches the strain asked for
(cells read back against the fix deform arithmetic), snapshots are labelled by protocol, and
a run stops at the upper trust level."""

import numpy as np
import pytest

from ionnp.refine.explore import ExploreSettings, deform_command, explore, explore_run
from tiny_models import potential, wurtzite

SETTINGS = ExploreSettings(temperatures=(300.0,), pressures=(0.0,), deform={"z": 0.1, "yz": 0.1},
                           deform_temperature=300.0, hot_temperature=None, steps=40, every=10, timestep_fs=0.5)


@pytest.fixture(scope="module")
def model():
    return potential(0.5)


@pytest.fixture(scope="module")
def start():
    atoms = wurtzite()
    atoms.info["phase"] = "wurtzite"
    return atoms


def test_deform_commands():
    atoms = wurtzite()
    assert deform_command("y", 0.2, atoms) == "fix explore_deform all deform 1 y scale 1.2 remap x"
    a, b, _ = atoms.cell.array
    lz = atoms.get_volume() / np.linalg.norm(np.cross(a, b))
    assert deform_command("yz", 0.1, atoms).endswith(f"yz delta {float(0.1 * lz)!r} remap x")
    with pytest.raises(ValueError, match=r"refine\.explore\.deform\.q"):
        deform_command("q", 0.1, atoms)


@pytest.mark.parametrize("dimension", ["z", "yz"])
def test_a_deformation_run_reaches_its_strain(model, start, dimension):
    frames = explore_run(start, model, f"deform {dimension}", SETTINGS, temperature=300.0,
                         deform=(dimension, 0.1), max_spread_ev_per_atom=1e9, seed=4)
    assert [a.info["explore_step"] for a in frames] == [10, 20, 30, 40]
    assert all(a.info["protocol"] == f"deform {dimension}" and a.calc is None for a in frames)
    first, last = start.cell, frames[-1].cell
    a, b, c = first.array
    area = np.linalg.norm(np.cross(a, b))
    lz = start.get_volume() / area
    if dimension == "z":
        # the volume grows by 1.1 (z scaled), the in-plane area stays
        assert last.volume == pytest.approx(1.1 * first.volume, rel=1e-9)
        assert np.linalg.norm(np.cross(*last.array[:2])) == pytest.approx(area, rel=1e-9)
    else:
        # a shear keeps the volume and the in-plane cell; c moves by 0.1 lz along the in-plane normal to a
        assert last.volume == pytest.approx(first.volume, rel=1e-9)
        shift = last.array[2] - c
        assert np.linalg.norm(shift) == pytest.approx(0.1 * lz, rel=1e-6)
        assert abs(shift @ a) < 1e-6 and abs(shift @ np.cross(a, b)) < 1e-6


def test_the_grid_and_the_protocols(model, start):
    frames = explore({("wurtzite", 0.0): start}, {"wurtzite": start}, model, SETTINGS,
                     max_spread_ev_per_atom=1e9, seed=1)
    protocols = [a.info["protocol"] for a in frames]
    assert protocols == (["npt wurtzite T300 P0"] * 4 + ["deform wurtzite z 0.1"] * 4
                         + ["deform wurtzite yz 0.1"] * 4)


def test_a_run_stops_at_the_upper_trust_level(model, start):
    frames = explore_run(start, model, "npt", SETTINGS, temperature=300.0, max_spread_ev_per_atom=1e-9, seed=2)
    assert len(frames) <= 1
