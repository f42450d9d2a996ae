"""ionnp.lammps.box: a run's dynamic state read from one LAMMPS instance and set into a fresh one
gives the same system (what a resumed ramp starts from)."""

import numpy as np
import pytest

from ionnp.lammps.box import dynamic_state, restore_dynamic_state
from ionnp.lammps.empirical import LammpsCell
from ionnp.potential import RigidIonPotential
from reference import zno_cell


def test_a_restored_state_has_the_same_energy_pressure_and_kinetic_energy(default_config):
    """After 200 steps of NPT (the box sheared and squeezed, atoms crossing its faces), the state
    set into a new instance built from the *start* structure reproduces potential energy,
    temperature and pressure, and reads back identical."""
    atoms = zno_cell("wurtzite", (2, 2, 1))
    potential = RigidIonPotential.from_config(default_config["potential"])
    thermo = "thermo_style custom step temp pe press vol"
    with LammpsCell(atoms, potential, md_accuracy=1e-5) as moved:
        moved.lmp.commands_list([thermo, "velocity all create 900 7 dist gaussian", "timestep 0.001",
                                 "fix p all npt temp 900 900 0.1 tri 1.0e5 1.0e5 1.0", "run 200", "unfix p"])
        state = dynamic_state(moved.lmp, len(atoms))
        moved.lmp.command("run 0")
        before = {key: moved.lmp.get_thermo(key) for key in ("pe", "temp", "press", "vol")}
    assert np.abs(state["image"]).sum() > 0  # some atoms left the box: the flags matter
    with LammpsCell(atoms, potential, md_accuracy=1e-5) as fresh:
        fresh.lmp.command(thermo)
        restore_dynamic_state(fresh.lmp, state)
        fresh.lmp.command("run 0")
        after = {key: fresh.lmp.get_thermo(key) for key in ("pe", "temp", "press", "vol")}
        again = dynamic_state(fresh.lmp, len(atoms))
    assert after["vol"] == pytest.approx(before["vol"], rel=1e-12)
    assert after["temp"] == pytest.approx(before["temp"], rel=1e-12)
    assert after["pe"] == pytest.approx(before["pe"], abs=1e-8)
    assert after["press"] == pytest.approx(before["press"], abs=1e-3)  # bar
    # Read back the same, up to LAMMPS remapping atoms into the box at setup (images change)
    np.testing.assert_array_equal(again["v"], state["v"])
    np.testing.assert_allclose(unwrapped(again), unwrapped(state), rtol=0, atol=1e-10)


def unwrapped(state):
    """Positions + image flags x cell (LAMMPS packs the three flags of an atom into one int:
    10 bits each, offset by 512)."""
    image = state["image"]
    flags = np.stack([(image & 1023) - 512, (image >> 10 & 1023) - 512, (image >> 20) - 512], axis=1)
    (lx, ly, lz), (xy, xz, yz) = state["boxhi"] - state["boxlo"], state["tilt"]
    cell = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
    return state["x"] + flags @ cell
