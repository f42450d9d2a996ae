"""What a forward pass returns (tensors, :class:`Output`) and what a user gets per structure
(float64 numpy, :class:`Prediction`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Output:
    """Tensors of a forward pass over a graph of B structures and N atoms.

    energy (B,) eV; energies (N,) eV; forces (N, 3) eV/Å or None; stress (B, 6) eV/Å³ or None.
    """

    energy: torch.Tensor
    energies: torch.Tensor
    forces: torch.Tensor | None
    stress: torch.Tensor | None


@dataclass(frozen=True)
class Prediction:
    """One structure's prediction (float64 numpy).

    Attributes:
        energy: eV (short range + Coulomb).
        energies: (N,) eV; they sum to ``energy`` (the Coulomb energy, which ionnp.charges.coulomb
            gives only as a total, is shared equally among the atoms).
        forces: (N, 3) eV/Å. stress: (6,) eV/Å³ (ASE sign, Voigt xx yy zz yz xz xy).
        energy_std, forces_std, stress_std: ensemble spread (population standard deviation
            over the members; zero for one member; None where not computed).
        short_range_energy, coulomb_energy: the two terms of ``energy`` (eV).
    """

    energy: float
    energies: np.ndarray
    forces: np.ndarray | None
    stress: np.ndarray | None
    energy_std: float = 0.0
    forces_std: np.ndarray | None = None
    stress_std: np.ndarray | None = None
    short_range_energy: float = 0.0
    coulomb_energy: float = 0.0


def as_numpy(t: torch.Tensor | None) -> np.ndarray | None:
    """A tensor as a float64 numpy array (None stays None)."""
    return None if t is None else t.detach().to(torch.float64).numpy()


def split_output(output: Output, n_atoms: torch.Tensor, spread: Output | None = None
           ) -> list[Prediction]:
    """Per-structure predictions of a forward pass; ``spread`` holds the ensemble stds."""
    sizes = n_atoms.tolist()
    energy, energies = as_numpy(output.energy), as_numpy(output.energies)
    forces, stress = as_numpy(output.forces), as_numpy(output.stress)
    out = []
    start = 0
    for b, n in enumerate(sizes):
        atoms = slice(start, start + n)
        start += n
        kwargs: dict[str, Any] = {}
        if spread is not None:
            kwargs["energy_std"] = float(spread.energy[b])
            if spread.forces is not None:
                kwargs["forces_std"] = as_numpy(spread.forces[atoms])
            if spread.stress is not None:
                kwargs["stress_std"] = as_numpy(spread.stress[b])
        out.append(Prediction(
            energy=float(energy[b]), energies=energies[atoms],
            forces=None if forces is None else forces[atoms],
            stress=None if stress is None else stress[b],
            short_range_energy=float(energy[b]), **kwargs,
        ))
    return out


__all__ = ["Output", "Prediction", "as_numpy", "split_output"]
