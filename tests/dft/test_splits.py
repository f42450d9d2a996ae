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


def test_strata_too_small_to_split_still_fill_every_split():
    """Twelve strata of one structure (the default campaign): the totals follow the fractions
    (8 / 1 / 3 of 12) and the three test structures come from three different phases."""
    strata = [(phase, p) for phase in ("hmgo", "rocksalt", "wurtzite", "zincblende") for p in (0, 15, 30)]
    labels = stratified_split(strata, {"train": 0.65, "valid": 0.1, "test": 0.25}, seed=3)
    assert Counter(labels) == {"train": 8, "valid": 1, "test": 3}
    test_phases = [s[0] for s, label in zip(strata, labels) if label == "test"]
    assert len(set(test_phases)) == 3
