"""Ensembles: pretraining, fine-tuning and from-scratch training of K members."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings
from ionnp.train.loop import train
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import Sample
from ionnp.train.transfer import finetune_model, scratch_model

log = logging.getLogger(__name__)


def train_ensemble(
    elements: Sequence[str],
    model_settings: ModelSettings,
    settings: TrainingSettings,
    train_set: Sequence[Sample],
    valid_set: Sequence[Sample],
    *,
    pretrained: NNPotential | None = None,
    charge: float = 0.0,
    unit_charges: Mapping[str, float] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = False,
    device: torch.device | str = "cpu",
) -> tuple[NNPotential, list[pd.DataFrame]]:
    """Train ``model_settings.ensemble_size`` members; return the potential and histories.

    Member k starts from ``pretrained.members[k mod K']`` (fine-tuning: weights kept, or shrunk
    and perturbed as ``settings.shrink``/``perturb`` say, energy shift refitted,
    ``settings.freeze`` applied) or, without ``pretrained``, from a fresh model seeded
    ``settings.seed + k`` (freezing is then ignored: random layers are not worth keeping).
    Shuffling of member k is seeded by ``settings.seed + k`` as well. Checkpoints go to
    ``checkpoint_dir/member_{k}.pt``. ``device``: where the members train
    (:func:`ionnp.train.loop.train`).
    """
    members, histories = [], []
    if pretrained is None and settings.freeze:
        log.info("training from scratch: freeze=%s ignored", settings.freeze)
        settings = replace(settings, freeze=())
    for k in range(model_settings.ensemble_size):
        member_settings = replace(settings, seed=settings.seed + k)
        if pretrained is not None:
            model = finetune_model(pretrained.members[k % len(pretrained.members)], train_set,
                                   shrink=settings.shrink, perturb=settings.perturb,
                                   seed=member_settings.seed)
        else:
            model = scratch_model(elements, model_settings, train_set, seed=member_settings.seed)
        checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / f"member_{k}.pt"
        result = train(model, train_set, valid_set, member_settings, checkpoint=checkpoint,
                       progress=progress, name=f"member {k}", device=device)
        members.append(result.model)
        histories.append(result.history.assign(member=k))
    return NNPotential(members, charge, unit_charges), histories


__all__ = ["train_ensemble"]
