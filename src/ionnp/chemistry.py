"""The chemistry of a campaign, in one place: a binary ionic solid, cation +z and anion −z.

Everything that needs the species order (model element lists: cation first), the unit charge
signs of E_C(1) (cation +1, anion −1), the formal charge z of the empirical potential or the
formula unit reads it from one :class:`Chemistry`, built from ``potential.charges``; model
files and the Coulomb results store it, and loading checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms


@dataclass(frozen=True)
class Chemistry:
    """A binary ionic solid.

    Attributes:
        cation, anion: chemical symbols.
        formal_charge: z > 0 (e): the empirical potential's charges are +z (cation), −z (anion).
    """

    cation: str
    anion: str
    formal_charge: float

    def __post_init__(self) -> None:
        if self.cation == self.anion:
            raise ValueError(f"cation and anion are both {self.cation}")
        if not self.formal_charge > 0:
            raise ValueError(f"formal charge must be positive, not {self.formal_charge}")

    @classmethod
    def from_charges(cls, charges: Mapping[str, float]) -> Chemistry:
        """From ``potential.charges``, e.g. ``{"Zn": 2.0, "O": -2.0}`` (any key order).

        Raises:
            ValueError: not exactly one positive and one negative charge of equal size.
        """
        if len(charges) != 2:
            raise ValueError(f"potential.charges {dict(charges)}: ionnp handles binary solids (two elements)")
        (cation, z_plus), (anion, z_minus) = sorted(charges.items(), key=lambda item: -item[1])
        if not (z_plus > 0 > z_minus and abs(z_plus + z_minus) < 1e-12):
            raise ValueError(f"potential.charges {dict(charges)}: need a cation +z and an anion −z")
        return cls(cation, anion, float(z_plus))

    @property
    def elements(self) -> tuple[str, str]:
        """Model order: (cation, anion)."""
        return (self.cation, self.anion)

    @property
    def signs(self) -> dict[str, float]:
        """Unit charges of E_C(1): cation +1, anion −1 (e)."""
        return {self.cation: 1.0, self.anion: -1.0}

    def unit_charges(self, atoms: Atoms) -> np.ndarray:
        """(N,) unit charges of ``atoms`` (e).

        Raises:
            ValueError: an element that is neither the cation nor the anion.
        """
        symbols = np.array(atoms.get_chemical_symbols())
        unknown = sorted(set(symbols.tolist()) - set(self.elements))
        if unknown:
            raise ValueError(f"{atoms.get_chemical_formula()}: elements {unknown} are neither the "
                             f"cation {self.cation} nor the anion {self.anion}")
        return np.where(symbols == self.cation, 1.0, -1.0)

    def to_dict(self) -> dict[str, Any]:
        return {"cation": self.cation, "anion": self.anion, "formal_charge": self.formal_charge}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chemistry:
        return cls(str(data["cation"]), str(data["anion"]), float(data["formal_charge"]))


def formula_units(atoms: Atoms) -> int:
    """Number of formula units: the greatest common divisor of the element counts."""
    _, counts = np.unique(atoms.numbers, return_counts=True)
    return int(np.gcd.reduce(counts))


__all__ = ["Chemistry", "formula_units"]
