"""The chemistry of a campaign, in one place: an ionic solid of species with formal charges.

``potential.charges`` gives every species its formal charge z_s (e), e.g. ``{Zn: 2, O: -2}``
or ``{Ca: 2, F: -1}``; the formula unit must be neutral. The effective charges of the NNP are
one global scale of the formal ones, q_s = λ z_s. Every stage counts that scale as the charge
q of the *reference species* (the cation of largest formal charge, first in model order):
q = λ z_ref. The Coulomb term at unit scale, E_C(1), is the Ewald energy at the unit charges
z_s / z_ref (the reference species +1), so that E_C(q) = q² E_C(1) and, for ZnO, E_C(1) is the
energy at ±1 and q the Zn charge.

Everything that needs the species order (model element lists: by formal charge, largest
first; config order among equals), the unit charges, the formal charges or the formula unit
reads it from one :class:`Chemistry`; model files and the Coulomb results store it, and
loading checks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

#: The most atoms of one species in a two-species formula unit (Al2O3: 3; Zn2O-like: 2).
MAX_COUNT = 12


@dataclass(frozen=True)
class Chemistry:
    """An ionic solid: species and their formal charges (e), in model order.

    Attributes:
        species: chemical symbols, by formal charge from largest to smallest (cations first).
        formal_charges: z_s (e) of each species, same order.
    """

    species: tuple[str, ...]
    formal_charges: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.species) < 2 or len(set(self.species)) != len(self.species):
            raise ValueError(f"species {list(self.species)}: need two or more different elements")
        if len(self.formal_charges) != len(self.species):
            raise ValueError(f"{len(self.species)} species but {len(self.formal_charges)} charges")
        if not self.formal_charges[0] > 0 > self.formal_charges[-1]:
            raise ValueError(f"formal charges {self.charges}: need cations (z > 0) and anions (z < 0)")
        if list(self.formal_charges) != sorted(self.formal_charges, reverse=True):
            raise ValueError(f"formal charges {self.charges}: species must be in model order "
                             "(largest formal charge first); use Chemistry.from_charges")

    @classmethod
    def from_charges(cls, charges: Mapping[str, float]) -> Chemistry:
        """From ``potential.charges``, e.g. ``{"Ca": 2.0, "F": -1.0}``.

        Raises:
            ValueError: an unknown element, a zero charge, no cation or no anion, or a formula
                unit that cannot be neutral (checked for two species; with more, the user's
                structures fix the stoichiometry and :meth:`unit_charges` checks neutrality).
        """
        unknown = [element for element in charges if element not in atomic_numbers]
        if unknown:
            raise ValueError(f"potential.charges: {unknown} are not chemical elements")
        zero = [element for element, z in charges.items() if z == 0]
        if zero:
            raise ValueError(f"potential.charges: {zero} have no charge; an ionic species needs one")
        ordered = sorted(charges.items(), key=lambda item: -item[1])  # stable: config order among equals
        chemistry = cls(tuple(e for e, _ in ordered), tuple(float(z) for _, z in ordered))
        if len(chemistry.species) == 2:
            chemistry.formula_unit()  # raises where the two charges cannot cancel
        return chemistry

    @property
    def elements(self) -> tuple[str, ...]:
        """Model order (alias of :attr:`species`)."""
        return self.species

    @property
    def charges(self) -> dict[str, float]:
        """Formal charge z_s (e) of each species."""
        return dict(zip(self.species, self.formal_charges))

    @property
    def cations(self) -> tuple[str, ...]:
        return tuple(s for s, z in zip(self.species, self.formal_charges) if z > 0)

    @property
    def anions(self) -> tuple[str, ...]:
        return tuple(s for s, z in zip(self.species, self.formal_charges) if z < 0)

    @property
    def reference_charge(self) -> float:
        """z_ref (e) of the reference species (the first, largest formal charge): q = λ z_ref, and
        the empirical potential is the NNP's form at q = z_ref."""
        return self.formal_charges[0]

    @property
    def unit_charge(self) -> dict[str, float]:
        """Charges of E_C(1), z_s / z_ref (e): the reference species +1."""
        return {s: z / self.reference_charge for s, z in zip(self.species, self.formal_charges)}

    def scale(self, charge: float) -> float:
        """λ = q / z_ref: the scale of the formal charges of a reference-species charge q (e)."""
        return charge / self.reference_charge

    def formula_unit(self) -> dict[str, int]:
        """Smallest neutral counts of each species, e.g. {Ca: 1, F: 2}; two species only.

        Raises:
            ValueError: three or more species (their stoichiometry comes from structure files),
                or two whose charges admit no neutral integer formula.
        """
        if len(self.species) != 2:
            raise ValueError(f"{'-'.join(self.species)}: the formula unit of three or more species "
                             "is not fixed by their charges; give the phases as structure files")
        ratio = Fraction(-self.formal_charges[1] / self.formal_charges[0]).limit_denominator(MAX_COUNT)
        counts = (ratio.numerator, ratio.denominator)
        if abs(counts[0] * self.formal_charges[0] + counts[1] * self.formal_charges[1]) > 1e-9:
            raise ValueError(f"potential.charges {self.charges}: no neutral formula unit of at most "
                             f"{MAX_COUNT} atoms of each species")
        return dict(zip(self.species, counts))

    def formula(self) -> str:
        """The formula unit as ASE writes it for :func:`ase.build.bulk`, e.g. ``"CaF2"``."""
        return "".join(s + (str(n) if n > 1 else "") for s, n in self.formula_unit().items())

    def unit_charges(self, atoms: Atoms) -> np.ndarray:
        """(N,) unit charges z_s / z_ref of ``atoms`` (e).

        Raises:
            ValueError: an element that is not one of the species, or a cell that is not neutral.
        """
        symbols = atoms.get_chemical_symbols()
        unknown = sorted(set(symbols) - set(self.species))
        if unknown:
            raise ValueError(f"{atoms.get_chemical_formula()}: elements {unknown} are not among the "
                             f"species {list(self.species)} of potential.charges")
        unit = self.unit_charge
        charges = np.array([unit[s] for s in symbols])
        if abs(charges.sum()) > 1e-9 * len(charges):
            raise ValueError(f"{atoms.get_chemical_formula()}: not neutral at the charges "
                             f"{self.charges} of potential.charges")
        return charges

    def ordered(self, atoms: Atoms) -> Atoms:
        """``atoms`` with its atoms grouped by species in model order (stable within a species),
        the order every stage keeps."""
        rank = {s: k for k, s in enumerate(self.species)}
        order = np.argsort([rank.get(s, len(rank)) for s in atoms.get_chemical_symbols()], kind="stable")
        return atoms[order]

    def __str__(self) -> str:
        return ", ".join(f"{s} {z:+g}" for s, z in zip(self.species, self.formal_charges))

    def to_dict(self) -> dict[str, Any]:
        return {"charges": self.charges}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chemistry:
        return cls.from_charges(data["charges"])


def formula_units(atoms: Atoms) -> int:
    """Number of formula units: the greatest common divisor of the element counts."""
    _, counts = np.unique(atoms.numbers, return_counts=True)
    return int(np.gcd.reduce(counts))


def species_indices(atoms: Atoms, species: Sequence[str]) -> np.ndarray:
    """Indices of the atoms of ``atoms`` that are one of ``species`` (symbols, not one string)."""
    if isinstance(species, str):
        raise TypeError(f"species {species!r}: give a sequence of symbols, e.g. [{species!r}]")
    return np.flatnonzero(np.isin(atoms.get_chemical_symbols(), list(species)))


__all__ = ["Chemistry", "formula_units", "species_indices"]
