"""Atomic writes: the target appears whole or not at all."""

import pytest
from ase.build import bulk

from ionnp.io import atomic_path, write_extxyz


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_version(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("new")
            raise RuntimeError("killed")
    assert target.read_text() == "old"


def test_extxyz_round_trip(tmp_path):
    import ase.io

    atoms = bulk("ZnO", "rocksalt", a=4.3)
    atoms.info["phase"] = "rocksalt"
    write_extxyz(tmp_path / "a.extxyz", [atoms, atoms])
    frames = ase.io.read(tmp_path / "a.extxyz", ":")
    assert len(frames) == 2 and frames[1].info["phase"] == "rocksalt"


def test_written_files_follow_the_umask(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "r.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "r.txt").stat().st_mode & 0o777 == 0o644
