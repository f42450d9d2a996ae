"""ionnp.dataset: equation-of-state cells join the DFT set with empirical labels from LAMMPS and
alternate volumes in train and test."""

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import GPa

from ionnp.config import validate_config
from ionnp.dft.dataset import alternate_split, eos_frames_for_training
from ionnp.evaluate.eos import scaled_cells
from ionnp.lammps.empirical import evaluate
from ionnp.potential import RigidIonPotential
from ionnp.prototypes.polymorphs import build
from reference import ZNO


def test_alternate_volumes_go_to_train_and_test():
    assert alternate_split([0.9, 0.94, 0.98, 1.02]) == ["train", "test", "train", "test"]
    assert alternate_split([1.02, 0.9, 0.98, 0.94]) == ["test", "train", "train", "test"]


def test_eos_frames_carry_empirical_labels_and_splits():
    potential = RigidIonPotential.from_config(validate_config({})["potential"])
    frames = []
    for phase in ("wurtzite", "rocksalt"):
        for atoms in scaled_cells(build(phase, ZNO), [0.9, 1.0, 1.1]):
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
