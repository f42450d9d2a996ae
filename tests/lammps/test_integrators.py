"""ionnp.lammps.integrators: every ensemble's fix is one LAMMPS accepts and runs; bad names are
refused before LAMMPS sees them."""

import pytest

from ionnp.lammps.empirical import LammpsCell
from ionnp.lammps.integrators import integrator
from ionnp.potential import RigidIonPotential
from reference import zno_cell


@pytest.mark.parametrize("ensemble", ["nve", "nvt", "npt"])
def test_lammps_runs_each_ensemble(default_config, ensemble):
    atoms = zno_cell("rocksalt")
    with LammpsCell(atoms, RigidIonPotential.from_config(default_config["potential"]), md_accuracy=1e-5) as cell:
        cell.lmp.commands_list(["velocity all create 300 5 dist gaussian", "timestep 0.001",
                                f"fix md all {integrator(ensemble, 300.0, 20.0)}", "run 20"])
        volume = cell.lmp.get_thermo("vol")
    if ensemble == "npt":  # the barostat moved the cell towards 20 GPa
        assert volume < atoms.get_volume()
    else:
        assert volume == pytest.approx(atoms.get_volume(), rel=1e-12)


def test_unknown_ensembles_and_barostats_are_refused():
    with pytest.raises(ValueError, match="ensemble must be"):
        integrator("nph")
    with pytest.raises(ValueError, match="barostat must be"):
        integrator("npt", barostat="xyz")
    assert integrator("npt", 600.0, 1.5, thermostat_fs=100.0, barostat_fs=1000.0) == \
        "npt temp 600.0 600.0 0.1 tri 15000.0 15000.0 1.0"
