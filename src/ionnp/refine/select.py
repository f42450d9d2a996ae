"""Selection of a refinement round: trust levels, candidates, farthest points, convergence.

The quantity is the one the MD guard stops on: the ensemble's energy spread per atom (meV/atom,
population standard deviation of the members). Below the lower trust level a snapshot is
*known*; between the levels it is a *candidate*; above the upper level it is *unphysical*
(the model is guessing: not labelled, counted). Of the candidates, farthest-point sampling in
the distillation's feature space picks up to the round's DFT budget. The round has converged
when the fraction of explored snapshots above the lower level falls below
``refine.converged_fraction`` (DP-GEN's convergence test); later rounds then explore nothing.

Trust levels default from the calibration of the one-shot model (rule ``loading``): the lower
level is the 95th percentile of its spread on the DFT test split (what in-domain structures show),
the upper level the spread at which the calibrated error, |error| ≈ k · spread with k the median
error/spread ratio over the test split and the loading cells, reaches ``refine.max_error_mev_per_atom``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ionnp.distill.fps import farthest_point_sampling, standardise

#: Quantile of the in-domain (test-split) spread taken as the lower trust level.
IN_DOMAIN_QUANTILE = 0.95


@dataclass(frozen=True)
class TrustLevels:
    """Energy-spread trust levels (meV/atom) and where they came from."""

    low: float
    high: float
    source: str

    def classify(self, spread: np.ndarray) -> np.ndarray:
        """``"known"``, ``"candidate"`` or ``"unphysical"`` per spread (meV/atom)."""
        spread = np.asarray(spread, dtype=float)
        return np.where(spread < self.low, "known", np.where(spread <= self.high, "candidate", "unphysical"))


def trust_levels(calibration: pd.DataFrame, *, low: float | None, high: float | None,
                 max_error_mev_per_atom: float) -> TrustLevels:
    """The configured levels, each missing one from ``calibration`` (rows of
    :func:`ionnp.evaluate.loading.spread_and_error` of the one-shot model, ``set`` test or
    loading), see the module docstring.

    Raises:
        ValueError: the levels are out of order, or the calibration cannot give one.
    """
    source = []
    if low is None:
        test = calibration[calibration.set == "test"].energy_spread_mev_per_atom
        if test.empty:
            raise ValueError("refine.trust_low: no test-split spread to calibrate it from")
        low = float(np.quantile(test, IN_DOMAIN_QUANTILE))
        source.append(f"low: {IN_DOMAIN_QUANTILE:.0%} quantile of the test-split spread")
    if high is None:
        ratio = calibration.energy_error_mev_per_atom / calibration.energy_spread_mev_per_atom
        ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
        if ratio.empty:
            raise ValueError("refine.trust_high: no spread and error to calibrate it from")
        k = float(np.median(ratio))
        high = max_error_mev_per_atom / k
        source.append(f"high: calibrated error {max_error_mev_per_atom:g} meV/atom (error ≈ {k:.3g} × spread)")
    if not 0 <= low < high:
        raise ValueError(f"refine.trust_low ({low:.4g} meV/atom) must lie below refine.trust_high "
                         f"({high:.4g} meV/atom)")
    return TrustLevels(float(low), float(high), "; ".join(source) or "configured")


@dataclass(frozen=True)
class RoundSelection:
    """What a round found and chose: counts per class, the fraction above the lower level, the
    convergence verdict and the chosen snapshots' indices (in exploration order)."""

    explored: int
    known: int
    candidates: int
    unphysical: int
    fraction_above_low: float
    converged: bool
    selected: list[int]
    trust: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select_round(spread: Sequence[float], features: np.ndarray, trust: TrustLevels, budget: int,
                 converged_fraction: float) -> RoundSelection:
    """Classify the explored snapshots by ``spread`` (meV/atom) and pick up to ``budget``
    candidates by farthest-point sampling of ``features`` (standardised over the candidates).

    A round with nothing explored is converged (an earlier round already was)."""
    classes = trust.classify(spread)
    candidates = np.flatnonzero(classes == "candidate")
    n = len(classes)
    above = float(np.mean(classes != "known")) if n else 0.0
    chosen: list[int] = []
    if len(candidates) and budget > 0:
        picks = farthest_point_sampling(standardise(features[candidates]), min(budget, len(candidates)))
        chosen = sorted(int(candidates[k]) for k in picks.indices)
    return RoundSelection(explored=n, known=int(np.sum(classes == "known")), candidates=len(candidates),
                          unphysical=int(np.sum(classes == "unphysical")), fraction_above_low=above,
                          converged=n == 0 or above < converged_fraction, selected=chosen,
                          trust=asdict(trust))


__all__ = ["IN_DOMAIN_QUANTILE", "RoundSelection", "TrustLevels", "select_round", "trust_levels"]
