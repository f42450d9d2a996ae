"""q_eff: the charge every model at ``q = eff`` is trained with, chosen by ``charges.method``.

Every estimator is recorded beside the choice: the frozen-modulation (L/T) charge and the
DFPT charge √(⟨Z*²⟩/ε∞), each with its uncertainty, and the q that each metric of the
learnability scan would pick. Only ``learnability`` is cross-validated (leave one stratum
out), with a bootstrap interval and ``determined`` false where that is wider than
``charges.max_interval``; the raw least-squares and polymorph-spread picks are biased by what a
short-range model absorbs and by the DFT stress offset, and are kept for comparison only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ionnp.charges.scan import METHODS, pick_q

#: Scan picks kept for comparison only.
BIASED = ("least_squares_energy", "least_squares_forces", "least_squares_stress", "spread")


def estimators(lt: Mapping[str, Any], dfpt: Mapping[str, Any], scan: pd.DataFrame,
               learnability: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every estimate of q (e): ``lt`` from :func:`ionnp.charges.modulation.estimate`'s
    result, ``dfpt`` from :func:`ionnp.charges.dfpt.summarise`'s, one entry per scan method
    from the scan table, the ``learnability`` entry with the interval of
    :func:`ionnp.charges.scan.learnability_interval` (``learnability``)."""
    found: dict[str, dict[str, Any]] = {
        "lt": {"q": lt["q"], "q_error": lt["q_error"], "kspacing": lt["kspacing"]},
        "dfpt": {"q": dfpt["q"], "q_error": dfpt["q_error"], "kspacing": dfpt["kspacing"],
                 "epsilon_inf": dfpt["epsilon_inf"], "born_charge": dfpt["born_charge"]}}
    for method in METHODS:
        q, metrics = pick_q(scan, method)
        found[method] = {"q": q, "biased": method in BIASED, "q_grid": metrics["q_grid"]}
    found["learnability"].update({key: learnability[key] for key in (
        "q_error", "low", "high", "confidence", "determined", "cv", "n_units")})
    return found


def choose(method: str | float, lt: Mapping[str, Any], dfpt: Mapping[str, Any],
           scan: pd.DataFrame, learnability: Mapping[str, Any]) -> dict[str, Any]:
    """The content of ``q_eff.json``: q_eff (e), the method, its uncertainty where it has one
    (e; None otherwise) and every estimator.

    Args:
        method: ``charges.method``: ``"lt"``, ``"dfpt"``, ``"learnability"`` or a fixed
            charge (e).

    Raises:
        ValueError: an unknown or biased method (:data:`BIASED`: recorded, never chosen), or
            ``learnability`` while its interval is too wide.
    """
    found = estimators(lt, dfpt, scan, learnability)
    if isinstance(method, (int, float)) and not isinstance(method, bool):
        q_eff, q_error, name = float(method), None, "fixed"
    elif method in BIASED:
        raise ValueError(f"config key charges.method: {method!r} is biased (what a short-range model "
                         f"absorbs, the DFT stress offset) and only recorded; use lt, dfpt or learnability")
    elif method == "learnability" and not found[method]["determined"]:
        e = found[method]
        raise ValueError(f"config key charges.method: the learnability optimum is undetermined "
                         f"({100 * e['confidence']:g} % interval {e['low']:.2f}–{e['high']:.2f} e, "
                         f"wider than charges.max_interval); use lt or dfpt")
    elif method in found:
        q_eff, q_error, name = found[method]["q"], found[method].get("q_error"), method
    else:
        raise ValueError(f"config key charges.method: {method!r} is neither a charge nor one of "
                         f"{sorted(found)}")
    return {"q_eff": q_eff, "q_error": q_error, "method": name, "estimators": found}
