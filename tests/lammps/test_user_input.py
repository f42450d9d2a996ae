"""ionnp-lammps: a user's LAMMPS input with an ionnp model attached, against the workflow's own
LAMMPS path (LammpsNNP) and IonnpCalculator on the same configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.io import write

from ionnp.lammps.nnp import PRECISE_COULOMB, LammpsNNP
from ionnp.lammps.user_input import InputError, UserInput, commands, main
from tiny_models import potential, wurtzite

INPUT = """\
# a user's input: system, output and run, no interaction
units metal
atom_style charge
atom_modify map array
read_data {data}
mass 1 65.38   # Zn
mass 2 15.999  # O
thermo_style custom step pe press f_nnp[1]
thermo_modify norm no
dump frames all custom 1 {dump} id type fx fy fz
dump_modify frames sort id format float %20.15g
run 0
"""


@pytest.fixture
def setup(tmp_path):
    """A model file at q = 0.9, a 16-atom rattled triclinic wurtzite as a LAMMPS data file,
    and the user input around it."""
    model = potential(0.9)
    path = tmp_path / "model.pt"
    model.save(path)
    atoms = wurtzite()
    data = tmp_path / "wurtzite.data"
    write(data, atoms, format="lammps-data", atom_style="charge", specorder=["Zn", "O"])
    text = INPUT.format(data=data, dump=tmp_path / "forces.dump")
    return path, atoms, text, tmp_path


def _dump_forces(path) -> np.ndarray:
    lines = path.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("ITEM: ATOMS"))) + 1
    return np.array([[float(v) for v in line.split()[2:5]] for line in lines[start:]])


def test_first_step_equals_the_workflow_path(setup):
    path, atoms, text, tmp_path = setup
    with UserInput(path, coulomb=PRECISE_COULOMB, log_file=tmp_path / "log.lammps", screen=False) as runner:
        runner.run_text(text, "in.user")
        energy = runner.lmp.get_thermo("pe")
        spread = runner.lmp.numpy.extract_fix("nnp", 0, 1, 0)
    with LammpsNNP(atoms, path, coulomb=PRECISE_COULOMB) as stage:
        expected = stage.snapshot()
        expected_spread = stage.energy_spread
    # read_data stores the structure in LAMMPS's frame: compare energies and force norms
    assert energy == pytest.approx(expected.get_potential_energy(), abs=1e-8 * len(atoms))
    forces = _dump_forces(tmp_path / "forces.dump")
    np.testing.assert_allclose(np.linalg.norm(forces, axis=1),
                               np.linalg.norm(expected.get_forces(), axis=1), atol=1e-7)
    assert spread == pytest.approx(expected_spread) and spread > 0


def test_command_line(setup, capsys):
    path, _, text, tmp_path = setup
    (tmp_path / "in.user").write_text(text)
    assert main(["-in", str(tmp_path / "in.user"), "--model", str(path), "-log",
                 str(tmp_path / "log.lammps")]) == 0
    assert "done in" in capsys.readouterr().err
    assert "f_nnp[1]" in (tmp_path / "log.lammps").read_text()


def test_more_than_one_rank_is_refused(setup):
    """The callback route cannot split the network over ranks: two are refused (pair_style
    ionnp is the route for many ranks, tests/deploy/test_pair_style.py)."""
    path, _, text, tmp_path = setup
    (tmp_path / "in.user").write_text(text)
    bin_dir = Path(sys.prefix) / "bin"
    result = subprocess.run([str(bin_dir / "mpiexec"), "-n", "2", str(bin_dir / "ionnp-lammps"), "-in",
                             str(tmp_path / "in.user"), "--model", str(path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "on one MPI rank, not 2" in result.stderr and "pair_style ionnp" in result.stderr


@pytest.mark.parametrize("line, message", [
    ("pair_style buck/coul/long 10.0", "sets the pair style itself"),
    ("kspace_style ewald 1e-6", "k-space solver itself"),
    ("include more.in", "inline the included file"),
    ("units real", "use 'units metal'"),
])
def test_what_would_double_count_is_refused_naming_the_line(setup, line, message):
    path, _, text, tmp_path = setup
    with UserInput(path, log_file=tmp_path / "log.lammps", screen=False) as runner:
        with pytest.raises(InputError, match=rf"in.user:6: '{line}': .*{message}"):
            runner.run_text(text.replace("mass 1 65.38   # Zn", line), "in.user")


def test_charges_and_types_are_checked(setup):
    path, atoms, text, tmp_path = setup
    write(tmp_path / "atomic.data", atoms, format="lammps-data", atom_style="atomic", specorder=["Zn", "O"])
    atomic = (text.replace("atom_style charge", "atom_style atomic")
              .replace(str(tmp_path / "wurtzite.data"), str(tmp_path / "atomic.data")))
    with UserInput(path, log_file=tmp_path / "log.lammps", screen=False) as runner:
        with pytest.raises(InputError, match="in.user:5: .*atom_style charge or full"):
            runner.run_text(atomic, "in.user")
    with pytest.raises(InputError, match=r"\['Mg'\] not in the model's elements"):
        UserInput(path, types=["Zn", "Mg"], screen=False, log_file=tmp_path / "log.lammps")


def test_commands_are_split_like_lammps():
    text = "units metal # metal\nvariable a string 'x#y'  # c\nfix 1 all &\n  nve\n\nrun 10\n"
    assert commands(text) == [(1, "units metal"), (2, "variable a string 'x#y'"),
                              (3, "fix 1 all    nve"), (6, "run 10")]


def test_the_example_input_runs(tmp_path, monkeypatch):
    """examples/compress.in, shrunk by its variables: 2 x 2 x 2 cells (64 atoms), 5 steps of
    NPT; the spread guard passes (a fresh model's members barely disagree)."""
    from pathlib import Path

    example = Path(__file__).parents[2] / "examples" / "compress.in"
    model = tmp_path / "model.pt"
    potential(0.9).save(model)
    monkeypatch.chdir(tmp_path)
    code = main(["-in", str(example), "--model", str(model), "-var", "steps", "5",
                 "-var", "nx", "2", "-var", "ny", "2", "-var", "nz", "2"])
    assert code == 0
    log = (tmp_path / "log.lammps").read_text()
    assert "Loop time" in log and "64 atoms" in log
    assert (tmp_path / "compress.dump").exists()
