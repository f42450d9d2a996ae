"""Structure features and the two-level FPS selection."""

import numpy as np
import pytest

from ionnp.descriptors import DescriptorSettings
from ionnp.distill import select, shards, structure_features
from ionnp.prototypes import build

SETTINGS = DescriptorSettings()


def test_features_are_invariant_to_rotation_and_atom_order():
    atoms = build("wurtzite", (2, 1, 1))
    atoms.rattle(0.05, seed=1)
    turned = atoms.copy()
    turned.rotate(40, "y", rotate_cell=True)
    shuffled = atoms[[1, 0, 3, 2, 5, 4, 7, 6]]
    f = structure_features([atoms, turned, shuffled], SETTINGS, ["Zn", "O"])
    np.testing.assert_allclose(f[1], f[0], atol=1e-9)
    np.testing.assert_allclose(f[2], f[0], atol=1e-9)


def test_features_see_compression_and_phase():
    frames = [build("wurtzite", (2, 1, 1)), build("rocksalt"), build("wurtzite", (2, 1, 1))]
    frames[2].set_cell(frames[2].cell * 0.95, scale_atoms=True)
    f = structure_features(frames, SETTINGS, ["Zn", "O"])
    assert not np.allclose(f[0], f[1]) and not np.allclose(f[0], f[2])
    assert f[2, -2] == pytest.approx(f[0, -2] * 0.95**3)  # volume per atom column


def test_dft_set_is_inside_pretraining_set():
    features = np.random.default_rng(0).normal(size=(200, 10))
    selection = select(features, 50, 12)
    assert len(set(selection.pretrain.indices)) == 50
    assert set(selection.dft.indices) <= set(selection.pretrain.indices)
    with pytest.raises(ValueError, match="n_dft = 60 exceeds n_pretrain = 50"):
        select(features, 50, 60)


def test_shards():
    assert shards(list(range(10)), 4, 3) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError):
        shards(list(range(10)), 4, 2)
