"""Well-tempered metadynamics on one collective variable, with harmonic walls.

The bias is a sum of Gaussian hills deposited every ``pace`` steps at the current CV value s;
each new hill's height is damped by the bias already there (Barducci, Bussi, Parrinello 2008),

    w_k = w₀ exp(−V(s_k) / (k_B ΔT)),   V(s) = Σ_k w_k exp(−(s − s_k)² / (2σ²)),

so the free energy is recovered as F(s) = −(T + ΔT)/ΔT · V(s) (up to a constant). Energies in
eV, temperatures in K.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase.units import kB


@dataclass
class WellTemperedMetadynamics:
    """Bias state of one run.

    Attributes:
        height: initial hill height w₀ (eV).
        width: hill standard deviation σ (CV units).
        bias_temperature: ΔT (K); the CV samples at T + ΔT.
        temperature: simulation temperature T (K).
        walls: lower and upper CV values beyond which a harmonic wall acts.
        wall_constant: wall force constant κ (eV per CV unit²): U = ½ κ (s − wall)².
    """

    height: float
    width: float
    bias_temperature: float
    temperature: float
    walls: tuple[float, float]
    wall_constant: float
    centers: list[float] = field(default_factory=list)
    heights: list[float] = field(default_factory=list)

    def hills(self, s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """V(s) and dV/ds of the deposited hills."""
        s = np.asarray(s, dtype=float)
        if not self.centers:
            return np.zeros_like(s), np.zeros_like(s)
        delta = s[..., None] - np.asarray(self.centers)
        gauss = np.asarray(self.heights) * np.exp(-0.5 * (delta / self.width) ** 2)
        return gauss.sum(-1), (-delta / self.width**2 * gauss).sum(-1)

    def bias(self, s: float) -> tuple[float, float]:
        """Total bias U(s) (hills + walls, eV) and dU/ds."""
        value, slope = (float(v) for v in self.hills(s))
        lower, upper = self.walls
        beyond = min(s - lower, 0.0) + max(s - upper, 0.0)
        return value + 0.5 * self.wall_constant * beyond**2, slope + self.wall_constant * beyond

    def deposit(self, s: float) -> float:
        """Add a hill at s; return its height (eV)."""
        height = self.height * float(np.exp(-self.hills(s)[0] / (kB * self.bias_temperature)))
        self.centers.append(float(s))
        self.heights.append(height)
        return height

    def free_energy(self, grid: np.ndarray) -> np.ndarray:
        """F(s) on ``grid`` (eV), shifted to a minimum of zero."""
        free = -(self.temperature + self.bias_temperature) / self.bias_temperature * self.hills(grid)[0]
        return free - free.min()
