"""Reproducible train/validation/test splits, stratified by phase and pressure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def stratified_split(strata: Sequence[object], fractions: Mapping[str, float], seed: int) -> list[str]:
    """Assign each item a split name; every stratum is split in the given proportions.

    Within a stratum of n items, split s gets round(n·f_s) items (largest remainders first,
    so the counts add up to n), in a random order fixed by ``seed``. Returns one name per item.
    """
    names = list(fractions)
    weights = np.array([fractions[name] for name in names], dtype=float)
    weights /= weights.sum()
    rng = np.random.default_rng(seed)
    labels = [""] * len(strata)
    groups: dict[object, list[int]] = {}
    for index, stratum in enumerate(strata):
        groups.setdefault(stratum, []).append(index)
    for stratum in sorted(groups, key=str):
        members = groups[stratum]
        exact = weights * len(members)
        counts = np.floor(exact).astype(int)
        for k in np.argsort(-(exact - counts), kind="stable")[: len(members) - counts.sum()]:
            counts[k] += 1
        order = rng.permutation(members)
        start = 0
        for name, count in zip(names, counts):
            for index in order[start:start + count]:
                labels[index] = name
            start += count
    return labels
