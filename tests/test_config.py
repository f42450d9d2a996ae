"""Config validation: defaults filled, every violation named by its key path."""

import copy

import pytest

from ionnp.config import (
    ConfigError,
    load_config,
    merge_config,
    n_dft_shards,
    pool_size,
    validate_config,
)


def test_empty_config_takes_every_default():
    config = validate_config({})
    assert config["prototypes"]["phases"] == ["wurtzite", "zincblende", "rocksalt", "hmgo", "cscl"]
    assert config["potential"]["pairs"]["Zn-O"] == {"A": 499.6, "rho": 0.3595, "C": 0.0}
    assert config["potential"]["ewald_alpha"] == 2.0


def test_default_config_is_valid_and_not_modified(default_config):
    before = copy.deepcopy(default_config)
    assert validate_config(default_config) == before
    assert default_config == before


@pytest.mark.parametrize(
    "config, key, words",
    [
        ({"prototypes": {"pressures": "10"}}, "prototypes.pressures", "not of type 'array'"),
        ({"prototypes": {"supercell": [1, 1.5, 1]}}, "prototypes.supercell[1]", "not of type 'integer'"),
        ({"prototypes": {"phases": ["wurtzite", "diamond"]}}, "prototypes.phases", "['diamond'] not in prototypes.structures"),
        ({"prototypes": {"phases": ["wurtzite", "zinc-blende"]}}, "prototypes.phases[1]", "does not match"),
        ({"prototypes": {"pressures": [0, 500]}}, "prototypes.pressures[1]", "greater than the maximum"),
        ({"potential": {"pairs": {"Zn-O": {"A": 1.0, "rho": -0.3, "C": 0.0}}}},
         "potential.pairs.Zn-O.rho", "less than or equal to the minimum"),
        ({"potential": {"charges": {"Zn": 2.0, "O": -1.3}}}, "potential.charges", "no neutral formula unit"),
        ({"potential": {"charges": {"Zn": 2.0, "O": 0.0}}}, "potential.charges", "have no charge"),
        ({"potential": {"pairs": {"Zn-S": {"A": 1.0, "rho": 0.3, "C": 0.0}}}}, "potential.pairs.Zn-S",
         "['S'] not in potential.charges"),
        ({"prototypes": {"roles": {"high_pressure": "cotunnite"}}}, "prototypes.roles.high_pressure",
         "'cotunnite' is not in prototypes.phases"),
        ({"prototypes": {"roles": {"polar_cubic": "wurtzite"}}}, "prototypes.roles.polar_cubic", "has no cubic cell"),
        ({"prototypes": {"roles": {"polar_cubic": "fluorite"}}}, "prototypes.roles.polar_cubic",
         "'fluorite' is not in prototypes.structures"),
        ({"prototypes": {"structures": {"wurtzite": {"file": "no/such/file.cif"}}}}, "prototypes.structures.wurtzite",
         "cannot be read"),
        ({"potential": {"charges": {"Mg": 2.0, "O": -2.0}, "pairs": {}},
          "prototypes": {"structures": {"rocksalt": {"bulk": "rocksalt", "a": 4.2, "cubic": True}}, "phases": ["rocksalt"],
                         "roles": {"ground_state": "rocksalt", "high_pressure": None, "polar_cubic": "rocksalt"}},
          "sampling": {"phases": ["rocksalt"], "supercell": {"rocksalt": [1, 1, 1]}}, "eos": {"phases": ["rocksalt", "rocksalt2"]}},
         "eos.phases", "['rocksalt2'] not in prototypes.phases"),
        ({"train": {"pretrain": {"perturb": 0.1}}}, "train.pretrain", "should not be valid"),
        ({"dft": {"command": "mpirun -np {ranks} pw.x"}}, "dft.command", "is not a launch template"),
        ({"training": {"q_grid": [0.0, 1.0]}}, "training", "renamed train"),
        ({"dft": {"command": "srun pw.x -nk {pools}"}}, "dft.command", "must name {executable}"),
    ],
)
def test_errors_name_the_key(config, key, words):
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    assert f"config key {key}:" in str(error.value)
    assert words in str(error.value)


@pytest.mark.parametrize(
    "config, where",
    [({"prototype": {}}, "prototype"), ({"prototypes": {"pressure": [0]}}, "prototypes.pressure")],
)
def test_unknown_keys_are_named_in_full(config, where):
    with pytest.raises(ConfigError, match=rf"unknown config key {where};"):
        validate_config(config)


def test_every_violation_is_listed():
    with pytest.raises(ConfigError) as error:
        validate_config({"seed": -1, "prototypes": {"phases": ["quartz-1"]}})
    assert "config key seed:" in str(error.value)
    assert "config key prototypes.phases[0]:" in str(error.value)


def test_cations_come_first_whatever_the_key_order():
    from ionnp.potential import RigidIonPotential

    config = validate_config({"potential": {"charges": {"O": -2.0, "Zn": 2.0}}})
    potential = RigidIonPotential.from_config(config["potential"])
    assert potential.elements == ("Zn", "O") and potential.type_of("Zn") == 1


def test_a_configfile_merges_key_by_key_as_snakemake_does():
    """Nested sections merge key by key; lists and scalars are replaced, the base is untouched."""
    base = {"train": {"finetune": {"epochs": 100, "learning_rate": 1e-3}, "q_grid": [0, 1]}, "seed": 1}
    overlay = {"train": {"finetune": {"epochs": 300}, "q_grid": [2]}}
    assert merge_config(base, overlay) == {
        "train": {"finetune": {"epochs": 300, "learning_rate": 1e-3}, "q_grid": [2]}, "seed": 1}
    assert base["train"]["finetune"]["epochs"] == 100


@pytest.mark.parametrize("name", ["validation.yaml", "paper.yaml"])
def test_shipped_campaigns_are_valid_over_the_default(name):
    """The workstation and paper-scale campaigns validate (cross-key rules included) when merged
    over config/config.yaml, as `--configfile` does."""
    from conftest import REPO

    config = load_config(REPO / "config" / "config.yaml", REPO / "config" / name)
    if name == "validation.yaml":
        assert config["dft"]["ecutwfc"] >= 45 and config["md"]["nve_steps"] * config["md"]["timestep_fs"] >= 2000


def test_the_effective_config_is_written_validated_in_the_schema_order(tmp_path):
    """write_config fills the defaults, keeps the schema's section order and reads back equal;
    an invalid config writes nothing."""
    import yaml

    from ionnp.config import load_schema, write_config

    path = tmp_path / "results" / "config.yaml"
    write_config({"md": {"nve_steps": 50}, "seed": 3}, path)
    written = yaml.safe_load(path.read_text())
    assert written == validate_config({"md": {"nve_steps": 50}, "seed": 3})
    assert list(written) == [key for key in load_schema()["properties"] if key in written]
    with pytest.raises(ConfigError, match="config key seed"):
        write_config({"seed": -1}, tmp_path / "bad.yaml")
    assert not (tmp_path / "bad.yaml").exists()


def test_the_paper_campaign_is_paper_scale():
    """config/paper.yaml over the default trains and labels at the paper's scale, not the demo's:
    its effective model and training sections differ from the default's, a 5-member ensemble,
    64-atom sampling (hence DFT) cells built from the prototypes, an 80 Ry cut-off, PBE-D3,
    ≥ 2 ps NVE."""
    from conftest import REPO

    from ionnp.chemistry import Chemistry
    from ionnp.prototypes.structures import build

    default = load_config(REPO / "config" / "config.yaml")
    paper = load_config(REPO / "config" / "config.yaml", REPO / "config" / "paper.yaml")
    for section in ("model", "train", "md", "dft"):
        assert paper[section] != default[section], section
    assert paper["model"]["ensemble_size"] == 5
    assert paper["train"]["finetune"]["epochs"] > default["train"]["finetune"]["epochs"]
    chemistry = Chemistry.from_charges(paper["potential"]["charges"])
    sampling = paper["sampling"]
    assert {phase: len(build(paper["prototypes"]["structures"][phase], chemistry, sampling["supercell"][phase]))
            for phase in sampling["phases"]} == dict.fromkeys(sampling["phases"], 64)
    assert paper["dft"]["ecutwfc"] >= 80 and paper["md"]["nve_steps"] * paper["md"]["timestep_fs"] >= 2000
    assert paper["dft"]["dispersion"] == "dft-d3" and default["dft"]["dispersion"] == "none"  # PBE-D3, as the paper


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
                         "eos": {"phases": ["wurtzite", "rocksalt", "cscl"]}})


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
        ({"train": {"pretrain": {"epochs": 0}}}, r"config key train.pretrain.epochs"),
        ({"train": {"finetune": {"epochs": 0}}}, r"config key train.finetune.epochs"),
        ({"md": {"timestep_fs": 8.0}}, r"config key md.timestep_fs: 8.0 is greater than the maximum of 5.0"),
        ({"sampling": {"timestep_fs": 6.0}}, r"config key sampling.timestep_fs: 6.0 is greater than"),
        ({"train": {"q_grid": [0.0, 1.0, 1.0]}}, r"config key train.q_grid: .* non-unique"),
        ({"train": {"q_grid": [0.0, -1.0]}}, r"config key train.q_grid\[1\]"),
        ({"eos": {"phases": ["rocksalt", "hmgo"]}},
         r"config key eos.phases: needs 'wurtzite' for prototypes.roles.ground_state \(DFPT cell"),
        ({"eos": {"phases": ["wurtzite", "hmgo"]}}, r"config key eos.phases: needs 'rocksalt' for prototypes.roles.high_pressure"),
        ({"charges": {"lt": {"volume_phase": "hmgo"}}}, r"config key eos.phases: needs 'hmgo' for charges.lt.volume_phase"),
        ({"evaluate": {"criteria": {"q_window": [1.0, 0.5]}}}, r"config key evaluate.criteria.q_window: \[1.0, 0.5\] must increase"),
        ({"charges": {"lt": {"amplitude": 0.03, "harmonic_amplitude": 0.03}}},
         r"config key charges.lt.harmonic_amplitude: must differ"),
        ({"charges": {"lt": {"repeats": [2, 3]}}}, r"config key charges.lt.repeats"),
        ({"charges": {"method": "bader"}}, r"config key charges.method"),
        ({"transition": {"steps_per_pressure": 300, "every": 70}}, r"config key transition.every: 70 must divide"),
        ({"transition": {"pressures": [0, 20, 10]}}, r"config key transition.pressures: \[0, 20, 10\] must increase"),
        ({"refine": {"rounds": 2, "budget": 0}}, r"config key refine.budget: 0 DFT structures per round with refine.rounds = 2"),
        ({"refine": {"trust_low": 30.0, "trust_high": 20.0}}, r"config key refine.trust_low: 30.0 meV/atom must lie below"),
        ({"refine": {"rounds": 1, "start": "/nonexistent/finetune_qeff.pt"}},
         r"config key refine.start: /nonexistent/finetune_qeff.pt does not exist"),
        ({"refine": {"explore": {"deform": {"zz": 0.1}}}}, r"config key refine.explore.deform: \['zz'\] are not LAMMPS"),
        ({"refine": {"explore": {"pressures": [12]}}}, r"config key refine.explore.pressures: \[12\] not in prototypes"),
        ({"refine": {"explore": {"steps": 10, "every": 50}}}, r"config key refine.explore.every: 50 steps"),
        ({"refine": {"phases": ["corundum"]}}, r"config key refine.phases: \['corundum'\]"),
        ({"refine": {"finetune": {"shrink": 0.0}}}, r"config key refine.finetune: shrink must be in \(0, 1\]"),
        ({"loading": {"paths": {"none": [0, 0, 0, 0, 0, 0]}}}, r"config key loading.paths.none: a Voigt strain direction"),
    ],
)
def test_inconsistent_values_are_refused_naming_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(config)
