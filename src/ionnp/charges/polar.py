"""The cubic polar crystal of the frozen modulations (``prototypes.roles.polar_cubic``): the
columns that :mod:`ionnp.charges.modulation` displaces, built without the heavy dependencies
of the DFT and Coulomb code (the config check builds it too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms

from ionnp.chemistry import Chemistry, formula_units

#: ASE prototypes on an fcc lattice, whose column is the tetragonal cell a/√2 × a/√2 × a.
FCC_PROTOTYPES = ("zincblende", "rocksalt", "fluorite")
#: That cell's vectors in the fcc primitive vectors of :func:`ase.build.bulk` (rows):
#: [½ −½ 0] = a₂ − a₁, [½ ½ 0] = a₃, [0 0 1] = a₁ + a₂ − a₃ (in units of a).
_TETRAGONAL_FROM_FCC = [[-1, 1, 0], [0, 0, 1], [1, 1, -1]]


@dataclass(frozen=True)
class PolarCrystal:
    """The cubic polar crystal of the modulations.

    Attributes:
        chemistry: the campaign's species.
        base: the column's base cell at a = 1 Å, in the crystal's cubic axes, z = cubic [001]
            of one cube's height, atoms grouped by species.
        formula_units_per_cube: formula units in a cube a³ (zinc blende, rocksalt, fluorite: 4).
    """

    chemistry: Chemistry
    base: Atoms
    formula_units_per_cube: float

    @classmethod
    def from_structure(cls, structure: Mapping[str, Any], chemistry: Chemistry) -> PolarCrystal:
        """From the ``prototypes.structures`` entry of the polar crystal: an fcc prototype
        (:data:`FCC_PROTOTYPES`), or any cubic cell (another prototype with ``cubic``, a file).

        Raises:
            ValueError: the cell is not cubic.
        """
        from ase.build import make_supercell

        from ionnp.prototypes.structures import build

        if structure.get("bulk") in FCC_PROTOTYPES:
            primitive = build({**structure, "a": 1.0, "cubic": False}, chemistry)
            base = chemistry.ordered(make_supercell(primitive, _TETRAGONAL_FROM_FCC))
        else:
            base = build(structure, chemistry)
            lengths, angles = base.cell.lengths(), base.cell.angles()
            if np.ptp(lengths) > 1e-6 * lengths[0] or np.abs(angles - 90.0).max() > 1e-6:
                raise ValueError(f"the polar crystal {dict(structure)} (prototypes.roles.polar_cubic) "
                                 f"has no cubic cell: lengths {lengths.round(4).tolist()} Å, angles "
                                 f"{angles.round(3).tolist()}°")
            base.set_cell(base.cell / lengths[0], scale_atoms=True)
        return cls(chemistry, base, formula_units(base) / base.get_volume())

    def lattice_constant(self, volume_per_formula_unit: float) -> float:
        """Cubic lattice constant a (Å) of a volume per formula unit (Å³): (n V)^⅓, n formula
        units per cube.

        The workflow passes a DFT equilibrium volume (the polar crystal's, or that of
        ``charges.lt.volume_phase``, e.g. wurtzite for zinc blende: the same to ~1 %, the same
        tetrahedral bonds): the modulations probe the DFT crystal, not the empirical potential's.
        """
        return float((self.formula_units_per_cube * volume_per_formula_unit) ** (1 / 3))

    def column(self, a: float, repeats: int) -> Atoms:
        """Unmodulated column: the base cell at lattice constant ``a`` (Å) repeated ``repeats``
        times along z, atoms grouped by species."""
        cell = self.base.copy()
        cell.set_cell(cell.cell * a, scale_atoms=True)
        return self.chemistry.ordered(cell.repeat((1, 1, repeats)))
