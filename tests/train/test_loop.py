"""ionnp.train.loop: a model that really learns Buckingham forces, resumption that repeats an
uninterrupted run, seeds, early stopping, frozen layers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from training_cells import ELEMENTS, MODEL, TINY, frames, small_samples  # noqa: F401 (fixtures)

from ionnp.nnp.short_range import ShortRangeModel
from ionnp.train.loop import train
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import (
    pretrain_samples,
)
from ionnp.train.transfer import (
    finetune_model,
    freeze_layers,
    scratch_model,
)


def test_training_learns_buckingham_forces(frames):
    samples = pretrain_samples(frames, ELEMENTS, MODEL.descriptors.cutoff)
    train_set, test_set = samples[:24], samples[24:]
    model = scratch_model(ELEMENTS, MODEL, train_set, seed=0)
    settings = TrainingSettings(epochs=20, batch_size=4, learning_rate=1e-2, forces_weight=1.0,
                                stress_weight=0.1, lr_patience=5)
    result = train(model, train_set, test_set[:3], settings)
    history = result.history
    assert list(history.epoch) == list(range(1, 21))
    assert {"train_energy_rmse_mev_atom", "valid_forces_rmse_mev_a", "valid_stress_rmse_gpa",
            "lr"} <= set(history.columns)
    assert history.train_loss.iloc[-1] < 0.05 * history.train_loss.iloc[0]
    # Held-out frames (never seen, not even for validation): forces far better than their spread.
    held_out = frames[27:]
    predicted = np.concatenate([p.forces for p in result.model.predict_many(held_out)])
    true = np.concatenate([a.arrays["buck_forces"] for a in held_out])
    rmse = np.sqrt(np.mean((predicted - true) ** 2))
    assert rmse < 0.3 * true.std(), (rmse, true.std())
    # Per-atom energies: learned, if less precisely (forces do not fix how E splits).
    energies = np.concatenate([p.energies for p in result.model.predict_many(held_out)])
    true_energies = np.concatenate([a.arrays["buck_energies"] for a in held_out])
    assert np.sqrt(np.mean((energies - true_energies) ** 2)) < 0.6 * true_energies.std()

def test_resumed_training_equals_uninterrupted(small_samples, tmp_path):
    settings = TrainingSettings(epochs=4, batch_size=2, learning_rate=5e-3, seed=7)
    train_set, valid_set = small_samples[:4], small_samples[4:]

    def fresh() -> ShortRangeModel:
        return scratch_model(ELEMENTS, TINY, train_set, seed=1)

    straight = train(fresh(), train_set, valid_set, settings, checkpoint=tmp_path / "a.pt")

    class Interrupt(Exception):
        pass

    def stop_after_two(epoch, row):
        if epoch == 2:
            raise Interrupt

    checkpoint = tmp_path / "b.pt"
    with pytest.raises(Interrupt):
        train(fresh(), train_set, valid_set, settings, checkpoint=checkpoint, callback=stop_after_two)
    assert checkpoint.exists()
    resumed = train(fresh(), train_set, valid_set, settings, checkpoint=checkpoint)
    assert list(resumed.history.epoch) == [1, 2, 3, 4]
    assert resumed.best_epoch == straight.best_epoch
    for key, value in straight.model.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, resumed.model.state_dict()[key]), key
    columns = [c for c in straight.history.columns if c != "time_s"]
    assert straight.history[columns].equals(resumed.history[columns])
    # A finished checkpoint is not trained further.
    again = train(fresh(), train_set, valid_set, settings, checkpoint=checkpoint)
    assert len(again.history) == 4

def test_checkpoint_of_another_run_is_not_resumed(small_samples, tmp_path, caplog):
    """A finished checkpoint whose targets differ from this run's is ignored: the run trains
    afresh (weights equal a run without any checkpoint) and the log names the reason."""
    settings = TrainingSettings(epochs=3, batch_size=2, learning_rate=5e-3, seed=7)
    train_set, valid_set = small_samples[:4], small_samples[4:]
    checkpoint = tmp_path / "member_0.pt"
    first = train(scratch_model(ELEMENTS, TINY, train_set, seed=1), train_set, valid_set, settings,
                  checkpoint=checkpoint)
    changed = list(train_set)
    t = changed[0].targets
    changed[0] = replace(changed[0], targets=replace(t, energy=t.energy + 0.5))
    fresh = train(scratch_model(ELEMENTS, TINY, changed, seed=1), changed, valid_set, settings)
    with caplog.at_level("WARNING", logger="ionnp.train"):
        again = train(scratch_model(ELEMENTS, TINY, changed, seed=1), changed, valid_set, settings,
                      checkpoint=checkpoint)
    assert "ignoring checkpoint" in caplog.text and "data" in caplog.text
    assert "settings" not in caplog.text.split("its ")[1].split(" differ")[0]
    weights = lambda r: [v for v in r.model.state_dict().values() if isinstance(v, torch.Tensor)]  # noqa: E731
    assert any(not torch.equal(a, b) for a, b in zip(weights(first), weights(again)))
    assert all(torch.equal(a, b) for a, b in zip(weights(fresh), weights(again)))
    # Other settings (here the epochs) are named as well.
    caplog.clear()
    with caplog.at_level("WARNING", logger="ionnp.train"):
        train(scratch_model(ELEMENTS, TINY, changed, seed=1), changed, valid_set,
              replace(settings, epochs=4), checkpoint=checkpoint)
    assert "its settings differ" in caplog.text

def test_same_seed_trains_the_same_weights(small_samples):
    """Same data, settings and seed give bit-identical weights (deterministic CPU training)."""
    settings = TrainingSettings(epochs=3, batch_size=2, learning_rate=5e-3, seed=3)
    runs = [train(scratch_model(ELEMENTS, TINY, small_samples[:4], seed=2), small_samples[:4],
                  small_samples[4:], settings) for _ in range(2)]
    a, b = (r.model.state_dict() for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a if isinstance(a[k], torch.Tensor))
    assert runs[0].history.drop(columns="time_s").equals(runs[1].history.drop(columns="time_s"))

def test_early_stopping_keeps_the_best_weights(small_samples):
    model = scratch_model(ELEMENTS, TINY, small_samples[:4], seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}
    settings = TrainingSettings(epochs=50, learning_rate=0.0, early_stopping=2, lr_patience=100)
    result = train(model, small_samples[:4], small_samples[4:], settings)
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 1
    for key, value in before.items():
        assert torch.equal(result.model.state_dict()[key], value)

def test_freezing_keeps_first_and_last_layers(small_samples):
    pretrained = scratch_model(ELEMENTS, TINY, small_samples, seed=0)
    model = finetune_model(pretrained, small_samples)
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    settings = TrainingSettings.finetuning(epochs=3, batch_size=2, learning_rate=1e-2)
    assert settings.freeze == ("first", "last") and settings.energy_weight == 0.2
    result = train(model, small_samples[:4], small_samples[4:], settings)
    frozen = {n for n, p in result.model.named_parameters() if not p.requires_grad}
    # first (networks.k.0) and last (networks.k.6: 3 hidden layers → Linear 0, 2, 4, 6) layers
    assert frozen == {f"networks.{k}.{layer}.{kind}" for k in (0, 1) for layer in (0, 6)
                      for kind in ("weight", "bias")}
    for name, p in result.model.named_parameters():
        if name in frozen:
            assert torch.equal(p, initial[name]), name
        else:
            assert not torch.equal(p, initial[name]), name
    # the pretrained model itself is left alone
    assert all(p.requires_grad for p in pretrained.parameters())

def test_freeze_layers_by_index(small_samples):
    model = scratch_model(ELEMENTS, TINY, small_samples, seed=0)
    names = freeze_layers(model, [1])
    assert names == ["networks.0.2.weight", "networks.0.2.bias",
                     "networks.1.2.weight", "networks.1.2.bias"]
    with pytest.raises(ValueError, match="freeze"):
        TrainingSettings(freeze=("middle",))
