"""Structure features, the two-level FPS selection and its stratified variant."""

import numpy as np
import pytest

from ionnp.distill.features import structure_features
from ionnp.distill.selection import (
    allocate,
    select,
    select_stratified,
    shards,
    shortest_distance,
    strata,
    within_caps,
)
from ionnp.nnp.descriptors import DescriptorSettings
from reference import zno_cell

SETTINGS = DescriptorSettings()


def test_features_are_invariant_to_rotation_and_atom_order():
    atoms = zno_cell("wurtzite", (2, 1, 1))
    atoms.rattle(0.05, seed=1)
    turned = atoms.copy()
    turned.rotate(40, "y", rotate_cell=True)
    shuffled = atoms[[1, 0, 3, 2, 5, 4, 7, 6]]
    f = structure_features([atoms, turned, shuffled], SETTINGS, ["Zn", "O"])
    np.testing.assert_allclose(f[1], f[0], atol=1e-9)
    np.testing.assert_allclose(f[2], f[0], atol=1e-9)


def test_features_see_compression_and_phase():
    frames = [zno_cell("wurtzite", (2, 1, 1)), zno_cell("rocksalt"), zno_cell("wurtzite", (2, 1, 1))]
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


@pytest.mark.parametrize("budget, available, expected", [
    (12, [5, 5, 5], [4, 4, 4]),
    (10, [5, 5, 5], [4, 3, 3]),
    (10, [1, 9, 9], [1, 5, 4]),   # a stratum short of its share passes the rest on
    (3, [0, 4, 4], [0, 2, 1]),
    (6, [2, 2, 2], [2, 2, 2]),
])
def test_allocate_spreads_the_budget_evenly(budget, available, expected):
    counts = allocate(budget, available)
    assert counts == expected and sum(counts) == budget


def test_allocate_refuses_more_than_the_strata_hold():
    with pytest.raises(ValueError, match="hold only 4"):
        allocate(5, [2, 2])


def test_stratified_selection_covers_every_stratum_within_the_caps():
    """Three strata of 40 points; the third has a far-out tail. Plain FPS of 6 spends most of
    the budget on tails; stratified gives 2 per stratum, starts each at its most typical point
    and never picks an ineligible frame."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    features = np.concatenate([c + rng.normal(0, 0.5, (40, 2)) for c in centres])
    features[80:85] += [0.0, 30.0]  # a tail of stratum 2
    strata = np.repeat(["a", "b", "c"], 40)
    eligible = np.ones(120, bool)
    eligible[85:90] = False
    plain = select(features, 120, 6)
    assert (strata[plain.dft.indices] == "c").sum() >= 3
    chosen = select_stratified(features, list(strata), eligible, 120, 6)
    assert sorted(strata[chosen.dft.indices]) == ["a", "a", "b", "b", "c", "c"]
    assert eligible[chosen.dft.indices].all()
    scaled = (features - features.mean(0)) / features.std(0)
    for k, name in enumerate("abc"):
        members = np.flatnonzero((strata == name) & eligible)
        nearest = members[np.argmin(((scaled[members] - scaled[members].mean(0)) ** 2).sum(1))]
        assert chosen.dft.indices[2 * k] == nearest


def test_shortest_distance_equals_ase():
    from ase.neighborlist import neighbor_list as ase_neighbor_list

    atoms = zno_cell("rocksalt")
    atoms.rattle(0.1, seed=4)
    assert shortest_distance(atoms) == pytest.approx(ase_neighbor_list("d", atoms, 4.0).min(), abs=1e-12)


def test_caps_on_pressure_and_contacts_and_the_strata():
    frames = []
    for k, (pressure, rattle) in enumerate([(5.0, 0.0), (50.0, 0.0), (5.0, 0.6)]):
        atoms = zno_cell("rocksalt")
        atoms.rattle(rattle, seed=1)
        atoms.info.update(pressure_gpa=pressure, phase="rocksalt", run_temperature_k=600.0,
                          run_pressure_gpa=10.0 * k)
        frames.append(atoms)
    contacts = [shortest_distance(a) for a in frames]
    assert contacts[0] > 2.0 > 1.7 > contacts[2]   # 0.6 Å rattle brings a pair below 1.7 Å
    assert within_caps(frames, 40.0, 1.7).tolist() == [True, False, False]
    assert within_caps(frames, None, 1.7).tolist() == [True, True, False]
    assert within_caps(frames, None, None).all()
    assert strata(frames)[1] == ("rocksalt", 600.0, 10.0)
