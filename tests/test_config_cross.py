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


def test_eos_phases_must_be_prototypes():
    with pytest.raises(ConfigError, match=r"config key eos.phases: \['cscl'\] not in prototypes.phases"):
        validate_config({"prototypes": {"phases": ["wurtzite", "zincblende", "rocksalt", "hmgo"]},
                         "eos": {"phases": ["wurtzite", "cscl"]}})


def test_prototype_pressures_must_include_zero():
    with pytest.raises(ConfigError, match=r"config key prototypes.pressures: must include 0"):
        validate_config({"prototypes": {"pressures": [15, 30]}, "sampling": {"pressures": [15, 30]}})
