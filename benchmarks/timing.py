"""Timing helper shared by the benchmark scripts (run them from the repository root)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def timed(function: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Best wall time of ``repeats`` calls after one warm-up call, and the last result."""
    result = function()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result
