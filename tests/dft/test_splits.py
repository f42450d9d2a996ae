"""Stratified splits: proportions per stratum, reproducible by seed."""

from collections import Counter

from ionnp.dft.dataset import stratified_split


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
