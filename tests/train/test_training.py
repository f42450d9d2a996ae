"""ionnp.train: targets against LAMMPS labels, a model that really learns Buckingham forces,
resumption that repeats an uninterrupted run, freezing, early stopping, ensembles."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.charges.coulomb import coulomb
from ionnp.config import validate_config
from ionnp.lammps.empirical import evaluate
from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel
from ionnp.potential import RigidIonPotential
from ionnp.train.ensemble import train_ensemble
from ionnp.train.loop import train
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import (
    coulomb_factor,
    finetune_samples,
    finetune_targets,
    pretrain_samples,
    pretrain_targets,
    split,
)
from ionnp.train.transfer import (
    finetune_model,
    freeze_layers,
    shrink_perturb,
    refit_energy_shift,
    scratch_model,
)
from empirical_labels import buckingham_labelled
from reference import ZNO

torch.set_num_threads(1)

ELEMENTS = ("Zn", "O")
MODEL = ModelSettings(
    descriptors=DescriptorSettings(cutoff=4.5, n_radial=16, n_angular_radial=2, n_angles=2),
    hidden_layers=(16, 16), ensemble_size=1,
)

#: Cheaper still, for the tests of the loop's mechanics.
TINY = replace(MODEL, descriptors=DescriptorSettings(cutoff=4.0, n_radial=6, n_angular_radial=2,
                                                     n_angles=2), hidden_layers=(8, 8, 8))


@pytest.fixture(scope="module")
def potential() -> RigidIonPotential:
    return RigidIonPotential.from_config(validate_config({})["potential"])


def rattled_cells(n: int, repeat=(2, 2, 1), seed: int = 0) -> list[Atoms]:
    """Strained (±2 %) and rattled (0.1 Å) wurtzite ZnO cells."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat(repeat)
        strain = np.eye(3) + rng.normal(0, 0.02, (3, 3))
        atoms.set_cell(atoms.cell.array @ (0.5 * (strain + strain.T)), scale_atoms=True)
        atoms.rattle(0.1, seed=seed * 1000 + k)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def frames(potential) -> list[Atoms]:
    return buckingham_labelled(rattled_cells(30), potential)


@pytest.fixture(scope="module")
def small_samples(potential):
    frames = buckingham_labelled(rattled_cells(6, repeat=(1, 1, 1), seed=5), potential)
    return pretrain_samples(frames, ELEMENTS, TINY.descriptors.cutoff)


# ---- targets


def test_pretrain_targets_are_the_buckingham_labels(frames):
    atoms = frames[0]
    targets = pretrain_targets(atoms)
    assert targets.energy == atoms.info["buck_energy"]
    assert targets.energies.sum() == pytest.approx(targets.energy, rel=1e-10)
    np.testing.assert_array_equal(targets.forces, atoms.arrays["buck_forces"])
    assert targets.stress.shape == (6,)
    with pytest.raises(KeyError, match="buck_energies"):
        pretrain_targets(bulk("ZnO", "rocksalt", a=4.3))


def test_finetune_targets_remove_q_squared_coulomb(frames, potential):
    """DFT stand-in: LAMMPS's Buckingham + Ewald at charges ±2. Removing q² × (ionnp.charges.coulomb at
    unit charges) with q = 2 must leave LAMMPS's Buckingham-only labels."""
    assert potential.charges == {"Zn": 2.0, "O": -2.0}
    atoms = frames[1].copy()
    total = evaluate(atoms, potential)
    atoms.calc = SinglePointCalculator(atoms, energy=total.energy, forces=total.forces,
                                       stress=total.stress)
    unit = coulomb(atoms, ZNO.unit_charges(atoms))
    targets = finetune_targets(atoms, unit, 2.0)
    buck = pretrain_targets(frames[1])
    assert abs(total.energy - buck.energy) > 10  # the Coulomb term is large
    assert targets.energy == pytest.approx(buck.energy, abs=1e-6 * len(atoms))
    np.testing.assert_allclose(targets.forces, buck.forces, atol=1e-5)
    np.testing.assert_allclose(targets.stress, buck.stress, atol=1e-7)
    assert targets.energies is None
    samples = finetune_samples([atoms], [unit], 2.0, ELEMENTS, 4.0)
    assert samples[0].targets.energy == targets.energy


def test_pretrain_targets_at_q_plus_q2_coulomb_are_the_empirical_labels(frames, potential):
    """A-Train at q keeps (z² − q²) E_C(1) in its target; adding q² E_C(1) back must give
    LAMMPS's Buckingham + Ewald(±2) labels, per structure and (summed) per atom."""
    for q in (0.0, 1.0, 1.5):
        atoms = frames[2]
        total = evaluate(atoms, potential)
        unit = coulomb(atoms, ZNO.unit_charges(atoms))
        factor = coulomb_factor(q, ZNO.formal_charge)
        targets = pretrain_targets(atoms, unit, factor)
        back = unit.scaled(q)
        assert targets.energy + back.energy == pytest.approx(total.energy, abs=1e-6 * len(atoms))
        assert targets.energies.sum() == pytest.approx(targets.energy, abs=1e-9)
        np.testing.assert_allclose(targets.forces + back.forces, total.forces, atol=1e-5)
        np.testing.assert_allclose(targets.stress + back.stress, total.stress, atol=1e-7)
    with pytest.raises(ValueError, match="per-atom energies"):
        pretrain_targets(atoms, replace(unit, energies=None), 3.0)


def test_pretrained_at_q1_plus_coulomb_reproduces_the_empirical_potential(frames, potential):
    """Trained at q = 1 on 24 frames, the model with E_C(q = 1) added back predicts the held-out
    frames' empirical (Buckingham + formal-charge Ewald, LAMMPS) forces far better than their
    spread, and energies per atom within a small fraction of their spread."""
    units = [coulomb(a, ZNO.unit_charges(a)) for a in frames]
    factor = coulomb_factor(1.0, ZNO.formal_charge)
    samples = pretrain_samples(frames, ELEMENTS, MODEL.descriptors.cutoff, coulomb_units=units,
                               factor=factor)
    settings = TrainingSettings(epochs=25, batch_size=4, learning_rate=1e-2, forces_weight=1.0,
                                stress_weight=0.1, lr_patience=5, atomic_energy_weight=0.1)
    member = train(scratch_model(ELEMENTS, MODEL, samples[:24], seed=0), samples[:24],
                   samples[24:27], settings).model
    model = NNPotential([member], charge=1.0)
    held_out = frames[27:]
    truth = [evaluate(a, potential) for a in held_out]
    predicted = model.predict_many(held_out)
    forces = np.concatenate([p.forces for p in predicted])
    true_forces = np.concatenate([t.forces for t in truth])
    assert np.sqrt(np.mean((forces - true_forces) ** 2)) < 0.3 * true_forces.std()
    per_atom = np.array([p.energy / len(a) for p, a in zip(predicted, held_out)])
    true_per_atom = np.array([t.energy / len(a) for t, a in zip(truth, held_out)])
    train_spread = np.std([s.targets.energy / len(s.graph.positions) for s in samples[:24]])
    assert np.abs(per_atom - true_per_atom).max() < 0.3 * train_spread + 0.01


def test_split_is_reproducible_and_disjoint():
    train_a, valid_a = split(30, 0.2, seed=3)
    train_b, valid_b = split(30, 0.2, seed=3)
    assert np.array_equal(train_a, train_b) and np.array_equal(valid_a, valid_b)
    assert len(valid_a) == 6 and not set(train_a) & set(valid_a)
    assert sorted(np.concatenate([train_a, valid_a])) == list(range(30))
    assert len(split(3, 0.01, 0)[1]) == 1


# ---- learning


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


def test_shrink_perturb_mixes_the_start_with_a_fresh_initialisation(small_samples):
    pretrained = scratch_model(ELEMENTS, TINY, small_samples, seed=0)
    torch.manual_seed(11)  # the fresh layers, drawn in the order of the model's Linear layers
    fresh = [torch.nn.Linear(layer.in_features, layer.out_features)
             for e in range(len(ELEMENTS)) for layer in pretrained.linear_layers(e)]
    torch.manual_seed(3)
    outside = torch.rand(())  # the caller's random stream continues as if nothing was drawn
    torch.manual_seed(3)
    model = finetune_model(pretrained, small_samples, shrink=0.4, perturb=0.1, seed=11)
    assert torch.rand(()) == outside
    moved = [layer for e in range(len(ELEMENTS)) for layer in model.linear_layers(e)]
    start = [layer for e in range(len(ELEMENTS)) for layer in pretrained.linear_layers(e)]
    for new, old, noise in zip(moved, start, fresh, strict=True):
        torch.testing.assert_close(new.weight, 0.4 * old.weight + 0.1 * noise.weight)
        torch.testing.assert_close(new.bias, 0.4 * old.bias + 0.1 * noise.bias)
    for name in ("feature_mean", "feature_std", "energy_scale", "core_cutoff"):
        assert torch.equal(getattr(model, name), getattr(pretrained, name)), name
    # the energy shift is refitted to the samples after the weights moved
    predicted = np.array([p.energy for p in model.predict_many([_atoms_of(s) for s in small_samples])])
    target = np.array([s.targets.energy for s in small_samples])
    assert abs(np.mean(predicted - target)) < 1e-6
    kept = finetune_model(pretrained, small_samples)
    for a, b in zip(kept.parameters(), pretrained.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="shrink"):
        TrainingSettings(shrink=0.0)
    with pytest.raises(ValueError, match="training.pretrain"):
        TrainingSettings.from_config({"shrink": 0.5})


def test_settings_from_config():
    tuned = TrainingSettings.from_config({"epochs": 7, "freeze": ["last"]}, finetune=True)
    assert tuned.epochs == 7 and tuned.freeze == ("last",) and tuned.learning_rate == 1e-4
    assert tuned.forces_weight == 0.4 and tuned.atomic_energy_weight == 0.0
    pre = TrainingSettings.from_config({})
    assert (pre.energy_weight, pre.forces_weight, pre.stress_weight, pre.learning_rate) == \
        (1.0, 0.1, 0.025, 1e-3)


def test_refit_energy_shift_absorbs_an_offset(small_samples):
    model = scratch_model(ELEMENTS, TINY, small_samples, seed=0)
    other = finetune_model(model, small_samples)  # refitted to the samples as they are
    before = other.predict_many([_atoms_of(s) for s in small_samples])
    shifted = [replace(s, targets=replace(s.targets, energy=s.targets.energy - 1000.0 * len(s.graph.positions)))
               for s in small_samples]
    delta = refit_energy_shift(other, shifted)
    # Least squares are linear in the targets: −1000 eV per atom of either element.
    np.testing.assert_allclose(delta.numpy(), [-1000.0, -1000.0], atol=1e-6)
    after = other.predict_many([_atoms_of(s) for s in small_samples])
    for a, b, s in zip(before, after, small_samples):
        assert b.energy - a.energy == pytest.approx(-1000.0 * len(s.graph.positions), abs=1e-6)
        np.testing.assert_array_equal(a.forces, b.forces)


def _atoms_of(sample) -> Atoms:
    g = sample.graph
    symbols = [ELEMENTS[k] for k in g.species.tolist()]
    return Atoms(symbols, positions=g.positions.numpy(), cell=g.cells[0].numpy(), pbc=True)


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
                              small_samples[:4], small_samples[4:], pretrained=scratch, charge=0.5)
    assert tuned.charge == 0.5
    for old, new in zip(scratch.members, tuned.members):
        assert torch.equal(old.networks[0][0].weight, new.networks[0][0].weight)  # frozen
        assert not torch.equal(old.networks[0][2].weight, new.networks[0][2].weight)
