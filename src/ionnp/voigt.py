"""The one Voigt convention of ionnp: xx yy zz yz xz xy (ASE's), stress in eV/Å³ with ASE's
sign (positive under tension)."""

from __future__ import annotations

import numpy as np

#: Row and column indices of the Voigt components xx yy zz yz xz xy in a 3×3 tensor.
VOIGT = ([0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1])


def to_voigt(tensor: np.ndarray) -> np.ndarray:
    """(6,) Voigt vector of a (3, 3) tensor (a (6,) input is returned as it is)."""
    tensor = np.asarray(tensor, dtype=float)
    return tensor.reshape(6) if tensor.size == 6 else tensor[VOIGT[0], VOIGT[1]]


def from_voigt(vector: np.ndarray) -> np.ndarray:
    """The symmetric (3, 3) tensor of a (6,) Voigt vector (tensor components: xz is ε_xz, not
    γ_xz = 2 ε_xz)."""
    vector = np.asarray(vector, dtype=float)
    tensor = np.zeros((3, 3))
    tensor[VOIGT[0], VOIGT[1]] = vector
    tensor[VOIGT[1], VOIGT[0]] = vector
    return tensor


__all__ = ["VOIGT", "from_voigt", "to_voigt"]
