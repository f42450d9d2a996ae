"""q_eff by charges.method, every estimator recorded."""

import numpy as np
import pandas as pd
import pytest

from ionnp.charges.choice import choose
from ionnp.charges.scan import METHODS

LT = {"q": 0.93, "q_error": 0.02, "kspacing": 0.5}
DFPT = {"q": 0.88, "q_error": 0.04, "kspacing": 0.3, "epsilon_inf": 5.1, "born_charge": 2.2}
#: learnability_interval's record of the scan below (its optimum, 1.2 e, with an interval).
INTERVAL = {"q": 1.2, "low": 1.05, "high": 1.3, "q_error": 0.125, "confidence": 0.95, "determined": True,
            "cv": "grouped", "n_units": 14}
WIDE = {**INTERVAL, "low": 0.3, "high": 1.9, "q_error": 0.8, "determined": False}


def _scan() -> pd.DataFrame:
    """Every metric² exactly quadratic in q², each with its minimum at its own q."""
    q = np.linspace(0.0, 2.0, 21)
    minima = dict(zip(METHODS.values(), (0.4, 0.6, 0.8, 1.2, 1.6)))
    return pd.DataFrame({"q": q, **{c: np.sqrt(1.0 + (q**2 - m**2) ** 2) for c, m in minima.items()}})


def test_lt_is_chosen_with_its_uncertainty():
    chosen = choose("lt", LT, DFPT, _scan(), INTERVAL)
    assert (chosen["q_eff"], chosen["q_error"], chosen["method"]) == (0.93, 0.02, "lt")
    assert chosen["estimators"]["learnability"]["q"] == pytest.approx(1.2)
    assert chosen["estimators"]["spread"]["biased"] and not chosen["estimators"]["learnability"]["biased"]


def test_scan_methods_and_fixed_charge():
    assert choose("learnability", LT, DFPT, _scan(), INTERVAL)["q_eff"] == pytest.approx(1.2)
    with pytest.raises(ValueError, match="biased"):
        choose("least_squares_forces", LT, DFPT, _scan(), INTERVAL)
    assert choose("lt", LT, DFPT, _scan(), INTERVAL)["estimators"]["least_squares_forces"]["q"] == pytest.approx(0.6)
    fixed = choose(0.75, LT, DFPT, _scan(), INTERVAL)
    assert (fixed["q_eff"], fixed["method"], fixed["q_error"]) == (0.75, "fixed", None)
    assert fixed["estimators"]["lt"]["q"] == 0.93
    assert choose("dfpt", LT, DFPT, _scan(), INTERVAL)["q_error"] == 0.04
    with pytest.raises(ValueError, match="charges.method"):
        choose("bader", LT, DFPT, _scan(), INTERVAL)


def test_learnability_carries_its_interval_and_is_refused_when_undetermined():
    chosen = choose("learnability", LT, DFPT, _scan(), INTERVAL)
    assert chosen["q_error"] == 0.125
    assert chosen["estimators"]["learnability"]["low"] == 1.05
    assert not choose("lt", LT, DFPT, _scan(), WIDE)["estimators"]["learnability"]["determined"]
    with pytest.raises(ValueError, match="undetermined.*0.30–1.90 e"):
        choose("learnability", LT, DFPT, _scan(), WIDE)
