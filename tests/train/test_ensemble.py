"""ionnp.train.ensemble: ensembles from scratch and fine-tuned."""

from __future__ import annotations

from dataclasses import replace

import torch
from training_cells import (
    ELEMENTS,
    TINY,
    small_samples,  # noqa: F401 (fixtures)
)

from ionnp.nnp.potential import NNPotential
from ionnp.train.ensemble import train_ensemble
from ionnp.train.settings import TrainingSettings


def test_ensembles_from_scratch_and_fine_tuned(small_samples, tmp_path):
    settings = TrainingSettings(epochs=2, batch_size=3, freeze=("first",))
    two = replace(TINY, ensemble_size=2)
    scratch, histories = train_ensemble(ELEMENTS, two, settings, small_samples[:4],
                                        small_samples[4:], checkpoint_dir=tmp_path / "scratch")
    assert isinstance(scratch, NNPotential) and len(scratch.members) == 2
    assert [h.member.iloc[0] for h in histories] == [0, 1]
    assert all(p.requires_grad for m in scratch.members for p in m.parameters())  # no freezing
    assert (tmp_path / "scratch" / "member_1.pt").exists()
    a, b = scratch.members
    assert not torch.equal(a.networks[0][0].weight, b.networks[0][0].weight)
    tuned, _ = train_ensemble(ELEMENTS, two, TrainingSettings.finetuning(epochs=1),
                              small_samples[:4], small_samples[4:], pretrained=scratch, charge=0.5,
                              unit_charges={"Zn": 1.0, "O": -1.0})
    assert tuned.charge == 0.5
    for old, new in zip(scratch.members, tuned.members):
        assert torch.equal(old.networks[0][0].weight, new.networks[0][0].weight)  # frozen
        assert not torch.equal(old.networks[0][2].weight, new.networks[0][2].weight)
