"""ionnp.dataset: equation-of-state cells join the DFT set with empirical labels from LAMMPS and
alternate volumes in train and test."""

from collections import Counter

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import GPa
from reference import zno_cell

from ionnp.config import validate_config
from ionnp.dft.dataset import alternate_split, eos_frames_for_training, stratified_split
from ionnp.evaluate.eos import scaled_cells
from ionnp.lammps.empirical import evaluate
from ionnp.potential import RigidIonPotential


def test_alternate_volumes_go_to_train_and_test():
    assert alternate_split([0.9, 0.94, 0.98, 1.02]) == ["train", "test", "train", "test"]
    assert alternate_split([1.02, 0.9, 0.98, 0.94]) == ["test", "train", "train", "test"]


def test_eos_frames_carry_empirical_labels_and_splits():
    potential = RigidIonPotential.from_config(validate_config({})["potential"])
    frames = []
    for phase in ("wurtzite", "rocksalt"):
        for atoms in scaled_cells(zno_cell(phase), [0.9, 1.0, 1.1]):
            atoms.info["phase"] = phase
            atoms.calc = SinglePointCalculator(atoms, energy=-100.0, forces=np.zeros((len(atoms), 3)),
                                               stress=np.zeros(6))
            frames.append(atoms)
    out = eos_frames_for_training(frames, potential)
    assert [a.info["split"] for a in out] == ["train", "test", "train"] * 2
    compressed = out[0]
    reference = evaluate(frames[0], potential)
    assert compressed.info["emp_energy"] == pytest.approx(reference.energy, abs=1e-9)
    assert compressed.info["run_pressure_gpa"] == pytest.approx(-reference.stress[:3].mean() / GPa)
    assert compressed.info["run_pressure_gpa"] > 5  # 10 % below the empirical volume: compressed
    assert compressed.get_potential_energy() == -100.0 and compressed.info["source"] == "eos"
    assert compressed.arrays["emp_forces"].shape == (len(compressed), 3)


def test_every_stratum_is_split_in_proportion():
    strata = ["wz"] * 10 + ["rs"] * 20 + ["zb"] * 3
    labels = stratified_split(strata, {"train": 0.8, "valid": 0.1, "test": 0.1}, seed=1)
    by = lambda s: Counter(l for l, t in zip(labels, strata) if t == s)  # noqa: E731
    assert by("wz") == {"train": 8, "valid": 1, "test": 1}
    assert by("rs") == {"train": 16, "valid": 2, "test": 2}
    assert sum(by("zb").values()) == 3 and by("zb")["train"] >= 2


def test_same_seed_same_split_other_seed_other_split():
    strata = [k % 3 for k in range(60)]
    fractions = {"train": 0.5, "test": 0.5}
    assert stratified_split(strata, fractions, 7) == stratified_split(strata, fractions, 7)
    assert stratified_split(strata, fractions, 7) != stratified_split(strata, fractions, 8)


def test_strata_too_small_to_split_still_fill_every_split():
    """Twelve strata of one structure (the default campaign): the totals follow the fractions
    (8 / 1 / 3 of 12) and the three test structures come from three different phases."""
    strata = [(phase, p) for phase in ("hmgo", "rocksalt", "wurtzite", "zincblende") for p in (0, 15, 30)]
    labels = stratified_split(strata, {"train": 0.65, "valid": 0.1, "test": 0.25}, seed=3)
    assert Counter(labels) == {"train": 8, "valid": 1, "test": 3}
    test_phases = [s[0] for s, label in zip(strata, labels) if label == "test"]
    assert len(set(test_phases)) == 3
