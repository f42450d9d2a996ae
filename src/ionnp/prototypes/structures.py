"""The phases of a campaign: starting cells from ``prototypes.structures``.

A phase is named in ``prototypes.structures`` by either

* an ASE prototype, ``{bulk: rocksalt, a: 4.2, cubic: true}``: :func:`ase.build.bulk` of the
  formula unit (``symbols`` overrides it, e.g. ``OLi2`` for anti-fluorite) with the given
  lattice constants and options, or
* a structure file of the user's, ``{file: cotunnite.cif}`` (anything :func:`ase.io.read`
  reads: CIF, POSCAR, extxyz), with only the campaign's species and a neutral cell.

Starting geometries may be rough: the empirical potential relaxes them; what matters is the
topology. Atoms come grouped by species in model order (:meth:`Chemistry.ordered`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ase.io
from ase import Atoms
from ase.build import bulk

from ionnp.chemistry import Chemistry


def read_structure(path: str | Path, chemistry: Chemistry) -> Atoms:
    """A phase's structure file, checked against the campaign's species.

    Raises:
        ValueError: the file cannot be read, holds other species, or is not neutral at the
            formal charges (the message names the file).
    """
    try:
        atoms = ase.io.read(path)
    except Exception as error:  # noqa: BLE001 - ASE's readers raise many kinds for a bad file
        raise ValueError(f"structure file {path}: cannot be read by ASE ({error})") from None
    try:
        chemistry.unit_charges(atoms)
    except ValueError as error:
        raise ValueError(f"structure file {path}: {error}") from None
    atoms.pbc = True
    return atoms


def build(structure: Mapping[str, Any], chemistry: Chemistry, supercell: Sequence[int] = (1, 1, 1)) -> Atoms:
    """Unrelaxed cell of one ``prototypes.structures`` entry, repeated by ``supercell``, atoms
    grouped by species in model order."""
    if "file" in structure:
        atoms = read_structure(structure["file"], chemistry)
    else:
        options = {key: value for key, value in structure.items() if key not in ("bulk", "symbols")}
        atoms = bulk(structure.get("symbols") or chemistry.formula(), structure["bulk"], **options)
        chemistry.unit_charges(atoms)  # e.g. a "symbols" of other species
    return repeat(atoms, supercell, chemistry)


def repeat(atoms: Atoms, supercell: Sequence[int], chemistry: Chemistry) -> Atoms:
    """``atoms`` repeated by ``supercell``, grouped by species (the order every stage keeps)."""
    return chemistry.ordered(atoms.repeat(tuple(supercell)))


def primitive_cell(atoms: Atoms, symprec: float = 1e-3) -> Atoms:
    """``atoms`` reduced to its primitive cell (spglib) where that holds fewer atoms, else
    ``atoms`` itself (unchanged: a cell that is already primitive keeps its orientation)."""
    import spglib

    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    reduced = spglib.standardize_cell(cell, to_primitive=True, no_idealize=True, symprec=symprec)
    if reduced is None or len(reduced[2]) >= len(atoms):
        return atoms.copy()
    lattice, positions, numbers = reduced
    primitive = Atoms(numbers=numbers, scaled_positions=positions, cell=lattice, pbc=True)
    order = sorted(range(len(primitive)), key=lambda k: list(dict.fromkeys(atoms.numbers)).index(numbers[k]))
    return primitive[order]
