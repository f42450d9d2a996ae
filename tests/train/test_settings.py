"""ionnp.train.settings: the A-Train and fine-tuning recipes from config."""

from __future__ import annotations

from ionnp.train.settings import TrainingSettings


def test_settings_from_config():
    tuned = TrainingSettings.from_config({"epochs": 7, "freeze": ["last"]}, finetune=True)
    assert tuned.epochs == 7 and tuned.freeze == ("last",) and tuned.learning_rate == 1e-4
    assert tuned.forces_weight == 0.4 and tuned.atomic_energy_weight == 0.0
    pre = TrainingSettings.from_config({})
    assert (pre.energy_weight, pre.forces_weight, pre.stress_weight, pre.learning_rate) == \
        (1.0, 0.1, 0.025, 1e-3)
