"""The distillation stage as the workflow runs it: the configured method (``distill.method``:
fps, stratified or active) applied to the pool, and the table of what it picked."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms

from ionnp.distill.active import ActiveDistillation, ActiveSettings, distill_active
from ionnp.distill.selection import Selection, select, select_stratified, strata, within_caps
from ionnp.nnp.short_range import ModelSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Distillation:
    """What the stage picked: the selection (pool indices), and for ``active`` the round of each
    DFT pick and the learning curves (None otherwise)."""

    selection: Selection
    active: ActiveDistillation | None = None

    @property
    def rounds(self) -> np.ndarray | None:
        return None if self.active is None else self.active.rounds


def distill(pool: Sequence[Atoms], features: np.ndarray, settings: Mapping[str, Any],
            proxy: Mapping[str, Any] | None = None) -> Distillation:
    """The pretraining and DFT sets of ``pool`` by ``settings`` (the ``distill`` keys the method
    reads); ``proxy`` (``model``, ``elements``, ``seed``, optionally ``device``) trains the active
    method's models.

    Args:
        pool: the sampled frames with their labels and run metadata (``info``: phase, run
            temperature and pressure, virial pressure).
        features: raw structure features, shape (len(pool), d).
    """
    method = settings["method"]
    if method == "fps":
        return Distillation(select(features, settings["n_pretrain"], settings["n_dft"]))
    eligible = within_caps(pool, settings["max_pressure_gpa"], settings["min_contact"])
    log.info("%s: %d of %d pool frames within the caps (P ≤ %s GPa, contacts ≥ %s Å)", method,
             eligible.sum(), len(pool), settings["max_pressure_gpa"], settings["min_contact"])
    if method == "stratified":
        return Distillation(select_stratified(features, strata(pool), eligible, settings["n_pretrain"],
                                              settings["n_dft"]))
    active = distill_active(pool, features, eligible, settings["n_pretrain"], settings["n_dft"],
                            ActiveSettings.from_config(settings["active"]), ModelSettings.from_config(proxy["model"]),
                            proxy["elements"], seed=proxy["seed"], log=log.info,
                            device=proxy.get("device", "cpu"))
    return Distillation(active.selection, active)


def selection_table(pool: Sequence[Atoms], result: Distillation) -> pd.DataFrame:
    """One row per pick, A-Train set then DFT set: its order, pool index, max–min distance at
    the pick, active round (active only), phase, run pressure (GPa) and CV."""
    selection = result.selection
    table = pd.concat([
        pd.DataFrame({"set": "pretrain", "order": range(len(selection.pretrain.indices)),
                      "pool_index": selection.pretrain.indices, "maxmin_distance": selection.pretrain.distances}),
        pd.DataFrame({"set": "dft", "order": range(len(selection.dft.indices)),
                      "pool_index": selection.dft.indices, "maxmin_distance": selection.dft.distances}),
    ])
    if result.rounds is not None:
        table["round"] = np.concatenate([np.full(len(selection.pretrain.indices), np.nan), result.rounds])
    table["phase"] = [pool[i].info["phase"] for i in table.pool_index]
    table["run_pressure_gpa"] = [pool[i].info["run_pressure_gpa"] for i in table.pool_index]
    table["cv"] = [pool[i].info["cv"] for i in table.pool_index]
    return table


__all__ = ["Distillation", "distill", "selection_table"]
