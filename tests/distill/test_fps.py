"""Farthest-point sampling against a brute-force reference."""

import numpy as np
import pytest

from ionnp.distill.fps import coverage_distances, farthest_point_sampling, standardise


def brute_force_fps(x, n):
    """Textbook FPS with full pairwise distances, first point farthest from the mean."""
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    picks = [int(np.argmax(np.linalg.norm(x - x.mean(0), axis=1)))]
    while len(picks) < n:
        picks.append(int(np.argmax(d[:, picks].min(axis=1))))
    return picks


@pytest.mark.parametrize("seed", range(5))
def test_equals_brute_force(seed):
    x = np.random.default_rng(seed).normal(size=(300, 7))
    result = farthest_point_sampling(x, 40, chunk_size=64)
    assert result.indices.tolist() == brute_force_fps(x, 40)


def test_distances_are_max_min_and_decreasing():
    x = np.random.default_rng(1).normal(size=(500, 5))
    result = farthest_point_sampling(x, 30)
    for k in range(1, 30):
        chosen = x[result.indices[:k]]
        nearest = np.linalg.norm(x[:, None] - chosen[None], axis=-1).min(axis=1)
        assert result.distances[k] == pytest.approx(nearest.max())
    assert np.all(np.diff(result.distances[1:]) <= 1e-12)


def test_invariant_to_pool_order():
    x = np.random.default_rng(2).normal(size=(400, 6))
    permutation = np.random.default_rng(3).permutation(400)
    direct = farthest_point_sampling(x, 50).indices
    shuffled = farthest_point_sampling(x[permutation], 50).indices
    assert permutation[shuffled].tolist() == direct.tolist()


def test_too_many_is_an_error():
    with pytest.raises(ValueError, match="cannot select 11 of 10"):
        farthest_point_sampling(np.zeros((10, 2)), 11)


def test_standardise():
    x = np.random.default_rng(4).normal(3.0, 2.0, size=(1000, 3))
    x[:, 2] = 5.0
    z = standardise(x)
    np.testing.assert_allclose(z[:, :2].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z[:, :2].std(0), 1, atol=1e-12)
    assert np.all(z[:, 2] == 0)


def test_coverage_distances_of_an_fps_order_are_its_maxmin_distances():
    features = np.random.default_rng(3).normal(size=(80, 5))
    picked = farthest_point_sampling(features, 12)
    np.testing.assert_allclose(coverage_distances(features, picked.indices), picked.distances, rtol=1e-10)
