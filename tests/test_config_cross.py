"""Cross-key rules that only the whole config can check."""

import pytest

from ionnp.config import ConfigError, n_dft_shards, pool_size, validate_config


def test_pool_size_and_shards():
    config = validate_config({"sampling": {"steps": 1000, "write_every": 100}, "distill": {
        "n_pretrain": 100, "n_dft": 20, "shard_size": 8}})
    assert pool_size(config) == 4 * 1 * 3 * 10
    assert n_dft_shards(config) == 3


def test_more_than_the_pool_is_an_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"config key distill.n_pretrain: 500 frames asked for, but the sampling grid writes 120"):
        validate_config({"sampling": {"steps": 1000, "write_every": 100}, "distill": {"n_pretrain": 500, "n_dft": 10}})


def test_n_dft_above_n_pretrain_is_an_error():
    with pytest.raises(ConfigError, match=r"config key distill.n_dft: 60 exceeds distill.n_pretrain = 50"):
        validate_config({"distill": {"n_pretrain": 50, "n_dft": 60}})


def test_active_distillation_needs_rounds_and_members():
    assert validate_config({"distill": {"method": "active"}})["distill"]["active"]["n_seed"] == 8
    with pytest.raises(ConfigError, match=r"distill.active.n_seed: 8 leaves nothing of distill.n_dft = 8"):
        validate_config({"distill": {"method": "active", "n_dft": 8}})
    with pytest.raises(ConfigError, match=r"distill.active.ensemble_size: acquisition disagreement"):
        validate_config({"distill": {"method": "active", "n_dft": 30,
                                     "active": {"acquisition": "disagreement", "ensemble_size": 1}}})


def test_eos_phases_must_be_prototypes():
    with pytest.raises(ConfigError, match=r"config key eos.phases: \['cscl'\] not in prototypes.phases"):
        validate_config({"prototypes": {"phases": ["wurtzite", "zincblende", "rocksalt", "hmgo"]},
                         "eos": {"phases": ["wurtzite", "cscl"]}})


def test_prototype_pressures_must_include_zero():
    with pytest.raises(ConfigError, match=r"config key prototypes.pressures: must include 0"):
        validate_config({"prototypes": {"pressures": [15, 30]}, "sampling": {"pressures": [15, 30]}})


@pytest.mark.parametrize(
    "config, message",
    [
        ({"dft": {"split": {"train": 0.7, "valid": 0.2, "test": 0.2}}},
         r"config key dft.split: fractions .* add up to 1.1, not 1"),
        ({"charges": {"q_min": 1.5, "q_max": 1.0}}, r"config key charges.q_min: 1.5 must be below"),
        ({"charges": {"q_min": 1.0, "q_max": 1.0}}, r"config key charges.q_min: 1.0 must be below"),
        ({"charges": {"q_min": 0.0, "q_max": 0.5, "q_step": 0.8}},
         r"config key charges.q_step: 0.8 leaves no second point"),
        ({"charges": {"basis": {"cutoff": 5.0}}},
         r"config key charges.basis.cutoff: 5.0 Å differs from model.descriptors.cutoff = 6.0 Å"),
        ({"training": {"pretrain": {"epochs": 0}}}, r"config key training.pretrain.epochs"),
        ({"training": {"finetune": {"epochs": 0}}}, r"config key training.finetune.epochs"),
        ({"md": {"timestep_fs": 8.0}}, r"config key md.timestep_fs: 8.0 is greater than the maximum of 5.0"),
        ({"sampling": {"timestep_fs": 6.0}}, r"config key sampling.timestep_fs: 6.0 is greater than"),
        ({"training": {"q_grid": [0.0, 1.0, 1.0]}}, r"config key training.q_grid: .* non-unique"),
        ({"training": {"q_grid": [0.0, -1.0]}}, r"config key training.q_grid\[1\]"),
        ({"eos": {"phases": ["rocksalt", "hmgo"]}}, r"config key eos.phases: needs zincblende or wurtzite"),
        ({"eos": {"phases": ["zincblende", "rocksalt"]}}, r"config key eos.phases: needs wurtzite; the DFPT"),
        ({"charges": {"lt": {"amplitude": 0.03, "harmonic_amplitude": 0.03}}},
         r"config key charges.lt.harmonic_amplitude: must differ"),
        ({"charges": {"lt": {"repeats": [2, 3]}}}, r"config key charges.lt.repeats"),
        ({"charges": {"method": "bader"}}, r"config key charges.method"),
        ({"transition": {"steps_per_pressure": 300, "every": 70}}, r"config key transition.every: 70 must divide"),
        ({"transition": {"pressures": [0, 20, 10]}}, r"config key transition.pressures: \[0, 20, 10\] must increase"),
    ],
)
def test_inconsistent_values_are_refused_naming_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(config)
