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


__all__ = ["VOIGT", "to_voigt"]
