"""Metadynamics runs: labels that add up, bias deposited, failures that keep their frames."""

import dataclasses

import numpy as np
import pytest

from ionnp.config import validate_config
from ionnp.lammps.box import GPA_TO_BAR
from ionnp.lammps.empirical import LammpsCell, evaluate
from ionnp.sampling.driver import RunSettings, SamplingError, md_commands, run_metadynamics, sample
from ionnp.prototypes.polymorphs import relax
from ionnp.prototypes.structures import repeat
from reference import ZNO, zno_cell


@pytest.fixture(scope="module")
def start(potential):
    return repeat(relax(zno_cell("wurtzite"), "wurtzite", 15.0, potential), (2, 2, 1), ZNO)


def settings(**changes):
    section = validate_config({})["sampling"]
    base = RunSettings.from_config(section, temperature=1200.0, pressure_gpa=15.0, seed=11)
    return dataclasses.replace(base, steps=600, write_every=100, **changes)


@pytest.fixture(scope="module")
def run(start, potential):
    return sample(start, potential, settings(), phase="wurtzite", walker=0)


def test_frames_are_written_every_write_every_steps(run):
    frames, result = run
    assert [f.info["step"] for f in frames] == [100, 200, 300, 400, 500, 600]
    assert len(result.metadynamics.centers) == 6  # a hill every 100 steps after step 0
    assert frames[0].get_chemical_symbols() == ["Zn"] * 8 + ["O"] * 8
    assert all(f.info["phase"] == "wurtzite" and f.info["run_pressure_gpa"] == 15.0 for f in frames)


def test_labels_add_up(run):
    frames, _ = run
    for atoms in frames:
        assert atoms.arrays["buck_energies"].sum() == pytest.approx(atoms.info["buck_energy"], abs=1e-8)
        total = atoms.get_potential_energy()
        assert total == pytest.approx(atoms.info["buck_energy"] + atoms.info["coul_energy"], abs=1e-8)


def test_labels_are_those_of_the_potential(run, potential):
    atoms = run[0][-1]
    labels = evaluate(atoms, potential)
    assert atoms.get_potential_energy() == pytest.approx(labels.energy, abs=1e-10)
    np.testing.assert_allclose(atoms.get_stress(), labels.stress, atol=1e-12)
    buck = evaluate(atoms, potential, coulomb=False)
    np.testing.assert_allclose(atoms.arrays["buck_forces"], buck.forces, atol=1e-12)


def test_recorded_cv_is_the_cv_of_the_frame(run):
    from ionnp.sampling.coordination import coordination_number

    for atoms in run[0]:
        assert atoms.info["cv"] == pytest.approx(coordination_number(atoms, ["Zn"], ["O"], 2.6), abs=1e-9)


def test_unbiased_run_is_plain_lammps_with_frames(start, potential):
    from ionnp.sampling.coordination import coordination_number

    unbiased = settings(hill_height=0.0, wall_constant=0.0)
    assert not unbiased.biased
    result = run_metadynamics(start, potential, unbiased, name="plain")
    assert [f.info["step"] for f in result.frames] == [100, 200, 300, 400, 500, 600]
    assert not result.metadynamics.centers and (result.trace["bias_ev"] == 0.0).all()
    for atoms in result.frames:
        assert atoms.info["cv"] == pytest.approx(coordination_number(atoms, ["Zn"], ["O"], 2.6), abs=1e-9)
    # The driver leaves the dynamics alone: bit for bit those of LAMMPS on its own.
    with LammpsCell(start, potential, md_accuracy=unbiased.kspace_accuracy) as cell:
        cell.lmp.commands_list([*md_commands(unbiased), f"run {unbiased.steps}"])
        final = (cell.lmp.get_thermo("temp"), cell.lmp.get_thermo("press") / GPA_TO_BAR)
    assert (result.trace["temperature_k"].iloc[-1], result.trace["pressure_gpa"].iloc[-1]) == final


def test_runaway_temperature_stops_with_frames_kept(start, potential):
    with pytest.raises(SamplingError, match=r"run wurtzite T1200 P15 w3: temperature") as error:
        sample(start, potential, settings(max_temperature_factor=1.01, temperature=1200.0),
               phase="wurtzite", walker=3)
    temperatures = [f.info["temperature_k"] for f in error.value.frames]
    assert temperatures[-1] > 1.01 * 1200.0 >= max(temperatures[:-1], default=0.0)  # stops there
    assert "buck_energy" in error.value.frames[0].info


def test_lammps_failure_is_named(start, potential):
    with pytest.raises(SamplingError, match=r"run wurtzite T1200 P15 w1") as error:
        sample(start, potential, settings(timestep_fs=60.0, max_temperature_factor=1e9),
               phase="wurtzite", walker=1)
    assert "LAMMPS" in str(error.value) or "temperature" in str(error.value)
