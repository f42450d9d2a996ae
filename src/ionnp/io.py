"""Atomic file writes: a reader (or a killed job) never sees a half-written output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import ase.io
from ase import Atoms


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide results from the group
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_extxyz(path: str | os.PathLike, frames: Atoms | Sequence[Atoms]) -> None:
    """Write ``frames`` to an extended XYZ file atomically.

    Labels kept in ``atoms.info``/``atoms.arrays`` (``energy``, ``stress``, ``forces``, ...)
    are written as extxyz properties; ASE prints them with 8 significant decimals.
    """
    with atomic_path(path) as tmp:
        ase.io.write(tmp, frames, format="extxyz")
