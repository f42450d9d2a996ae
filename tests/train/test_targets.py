"""ionnp.train.targets: A-Train and fine-tuning targets against LAMMPS labels and the Coulomb term,
and the train/valid split."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from reference import ZNO
from training_cells import ELEMENTS, MODEL, frames, potential  # noqa: F401 (fixtures)

from ionnp.charges.coulomb import coulomb
from ionnp.lammps.empirical import evaluate
from ionnp.nnp.potential import NNPotential
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
    scratch_model,
)


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
        factor = coulomb_factor(q, ZNO.reference_charge)
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
    factor = coulomb_factor(1.0, ZNO.reference_charge)
    samples = pretrain_samples(frames, ELEMENTS, MODEL.descriptors.cutoff, coulomb_units=units,
                               factor=factor)
    settings = TrainingSettings(epochs=25, batch_size=4, learning_rate=1e-2, forces_weight=1.0,
                                stress_weight=0.1, lr_patience=5, atomic_energy_weight=0.1)
    member = train(scratch_model(ELEMENTS, MODEL, samples[:24], seed=0), samples[:24],
                   samples[24:27], settings).model
    model = NNPotential([member], charge=1.0, unit_charges=ZNO.unit_charge)
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
