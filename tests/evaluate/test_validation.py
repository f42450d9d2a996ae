"""ionnp.evaluate.validation: each criterion against hand-made tables, passing and failing."""

import pandas as pd
import pytest

from ionnp.evaluate.validation import all_criteria, markdown


def metrics(final=(8.0, 150.0, 0.5)) -> pd.DataFrame:
    rows = [("finetune_qeff", *final), ("empirical potential", 60.0, 800.0, 4.0), ("scratch_qeff", 12.0, 180.0, 0.9)]
    return pd.DataFrame([dict(group="all", value="all", variant=v, energy_rmse_mev_per_atom=e,
                              force_rmse_mev_per_a=f, stress_rmse_gpa=s) for v, e, f, s in rows])


def fits(nnp_rocksalt_e0=-9.7) -> pd.DataFrame:
    rows = [("DFT", "wurtzite", -10.0, 24.66, 145.0, 0.3), ("DFT", "rocksalt", -9.72, 20.32, 155.0, 0.4),
            ("NNP", "wurtzite", -10.0, 24.9, 140.0, 0.0), ("NNP", "rocksalt", nnp_rocksalt_e0, 20.4, 170.0, 0.0)]
    return pd.DataFrame([dict(method=m, phase=p, e0_ev=e, v0_a3=v, b0_gpa=b, stress_offset_gpa=o)
                         for m, p, e, v, b, o in rows])


def transitions(nnp=11.5) -> pd.DataFrame:
    return pd.DataFrame({"method": ["DFT", "NNP"], "start": "wurtzite", "phase": "rocksalt",
                         "pressure_gpa": [10.7, nnp]})


def md(left=None):
    summary = {"nve_drift_mev_per_atom_per_ps": 0.05, "n_atoms": 16, "nve_max_spread_mev_per_atom": 5.0,
               "nve_left_the_data": left}
    return summary, pd.DataFrame({"time_ps": [0.0, 1.0, 2.0]})


def split(n=10) -> pd.DataFrame:
    return pd.DataFrame({"split": ["train"] * 50 + ["valid"] * n + ["test"] * n})


def judged(**changes) -> dict[str, bool]:
    parts = dict(metrics=metrics(), fits=fits(), transitions=transitions(), md=md(), split=split())
    parts.update(changes)
    summary, nve = parts["md"]
    criteria = all_criteria(parts["metrics"], parts["fits"], parts["transitions"], summary, nve,
                            parts["split"], 30.0)
    return {c.name: c.passed for c in criteria}


def test_a_good_campaign_passes_everything():
    result = judged()
    assert all(result.values()) and len(result) == 23


@pytest.mark.parametrize("changes, failing", [
    (dict(metrics=metrics((12.0, 150.0, 0.5))), {"energy_rmse_mev_per_atom ≤ 10 meV/atom",
                                                "energy_rmse_mev_per_atom below scratch_qeff"}),
    (dict(fits=fits(nnp_rocksalt_e0=-10.2)), {"wurtzite the NNP's ground state"}),
    (dict(transitions=transitions(nnp=13.0)), {"NNP transition pressure within 2 GPa of DFT"}),
    (dict(transitions=transitions(nnp=float("nan"))), {"NNP transition pressure within 2 GPa of DFT"}),
    (dict(md=md(left={"step": 800.0})), {"ensemble spread below the threshold throughout"}),
    (dict(split=split(4)), {"valid split of at least 10 structures", "test split of at least 10 structures"}),
])
def test_each_failure_is_named(changes, failing):
    result = judged(**changes)
    assert {name for name, passed in result.items() if not passed} == failing


def test_json_holds_every_criterion(tmp_path):
    import json

    from ionnp.evaluate.validation import write_json

    summary, nve = md()
    criteria = all_criteria(metrics(), fits(), transitions(nnp=13.0), summary, nve, split(), 30.0)
    write_json(criteria, tmp_path / "validation.json")
    payload = json.loads((tmp_path / "validation.json").read_text())
    assert payload["passed"] == 22 and payload["failed"] == 1 and len(payload["criteria"]) == 23


def test_markdown_lists_every_criterion():
    summary, nve = md()
    criteria = all_criteria(metrics(), fits(), transitions(nnp=13.0), summary, nve, split(), 30.0)
    text = markdown(criteria, "Validation")
    assert "22 of 23 criteria hold" in text and text.count("\n| ") == 24 and "**no**" in text
