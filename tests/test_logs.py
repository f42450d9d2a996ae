"""Progress units of the MD stages."""

import pytest

from ionnp.logs import ns_per_day


def test_ns_per_day_by_hand():
    # 1000 steps of 1 fs = 1 ps in 86.4 s = 1/1000 of a day: 1 ns/day.
    assert ns_per_day(1000, 1.0, 86.4) == pytest.approx(1.0)
    assert ns_per_day(500, 2.0, 8.64) == pytest.approx(10.0)
    assert ns_per_day(10, 1.0, 0.0) == float("inf")
