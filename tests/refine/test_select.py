"""Trust levels from a calibration made by hand, the classes, FPS among candidates only, and the
convergence test."""

import numpy as np
import pandas as pd
import pytest

from ionnp.refine.select import IN_DOMAIN_QUANTILE, TrustLevels, select_round, trust_levels


def calibration(k=2.0):
    """Test-split spreads 1..20 meV/atom, loading spreads 10..100, every error k × spread."""
    test = np.arange(1.0, 21.0)
    loading = np.linspace(10.0, 100.0, 10)
    spread = np.concatenate([test, loading])
    return pd.DataFrame({"set": ["test"] * 20 + ["loading"] * 10, "energy_spread_mev_per_atom": spread,
                         "energy_error_mev_per_atom": k * spread})


def test_trust_levels_come_from_the_calibration():
    trust = trust_levels(calibration(k=2.0), low=None, high=None, max_error_mev_per_atom=100.0)
    assert trust.low == pytest.approx(np.quantile(np.arange(1.0, 21.0), IN_DOMAIN_QUANTILE))  # 19.05
    assert trust.high == pytest.approx(50.0)  # error 2 x spread reaches 100 meV/atom at 50
    assert "quantile" in trust.source and "calibrated error" in trust.source
    configured = trust_levels(calibration(), low=3.0, high=30.0, max_error_mev_per_atom=100.0)
    assert (configured.low, configured.high, configured.source) == (3.0, 30.0, "configured")


def test_trust_levels_out_of_order_are_refused_naming_the_keys():
    with pytest.raises(ValueError, match=r"refine\.trust_low .* refine\.trust_high"):
        trust_levels(calibration(k=2.0), low=60.0, high=None, max_error_mev_per_atom=100.0)
    with pytest.raises(ValueError, match="refine.trust_low: no test-split spread"):
        trust_levels(calibration()[lambda t: t.set == "loading"], low=None, high=10.0, max_error_mev_per_atom=1.0)


def test_classes_fps_among_candidates_and_convergence():
    trust = TrustLevels(low=5.0, high=50.0, source="configured")
    spread = np.array([1.0, 4.9, 5.0, 20.0, 30.0, 49.0, 51.0, 80.0, 6.0, 7.0])
    assert trust.classify(spread).tolist() == ["known", "known", "candidate", "candidate", "candidate",
                                               "candidate", "unphysical", "unphysical", "candidate", "candidate"]
    # features: candidates 2, 8, 9 sit together, 3, 4, 5 far apart; an unphysical one farther still
    features = np.zeros((10, 2))
    features[[3, 4, 5]] = [[10.0, 0.0], [0.0, 10.0], [-10.0, -10.0]]
    features[[2, 8, 9]] = [[0.1, 0.0], [0.0, 0.1], [0.1, 0.1]]
    features[7] = [100.0, 100.0]
    result = select_round(spread, features, trust, budget=3, converged_fraction=0.05)
    assert result.selected == [3, 4, 5] and result.candidates == 6 and result.unphysical == 2
    assert result.fraction_above_low == pytest.approx(0.8) and not result.converged
    everything = select_round(spread, features, trust, budget=20, converged_fraction=0.05)
    assert everything.selected == [2, 3, 4, 5, 8, 9]
    quiet = select_round(np.full(100, 1.0), np.zeros((100, 2)), trust, budget=3, converged_fraction=0.05)
    assert quiet.converged and quiet.selected == [] and quiet.known == 100
    nearly = select_round(np.r_[np.full(96, 1.0), np.full(4, 10.0)], np.arange(200.0).reshape(100, 2), trust,
                          budget=3, converged_fraction=0.05)
    assert nearly.converged and len(nearly.selected) == 3   # 4 % above: converged, still labelled
    assert select_round(np.zeros(0), np.zeros((0, 2)), trust, 3, 0.05).converged
