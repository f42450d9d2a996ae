"""Validate a campaign config against the JSON schema, fill defaults, check cross-key rules.

Every error names the key path (``prototypes.pressures[2]``) so a user knows what to edit,
and is raised before the workflow schedules any job.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

#: The schema, shipped inside the package (workflow/schemas/config.schema.yaml links to it).
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "config.schema.yaml"


#: Config sections that were renamed: {old name: new name}.
RENAMED_SECTIONS = {"training": "train"}


class ConfigError(ValueError):
    """The config breaks the schema or a cross-key rule; the message names the key."""


def _with_defaults(validator_class: type) -> type:
    """A validator class that fills in each property's ``default`` before validating it."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema) -> Iterator[ValidationError]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(Draft202012Validator)


def key_path(path: Iterator[Any]) -> str:
    """``['a', 'b', 2]`` → ``'a.b[2]'`` (the config root is ``'<config>'``)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<config>"


def _describe(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        # The offending key is not in error.path (the parent is): name it in full.
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        parent = key_path(error.absolute_path)
        where = ", ".join(f"{parent}.{key}" if error.absolute_path else key for key in extra)
        return f"unknown config key {where}; allowed here: {', '.join(known)}"
    return f"config key {key_path(error.absolute_path)}: {error.message}"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """The config schema as a dict."""
    with open(path) as handle:
        return yaml.safe_load(handle)


def validate_config(config: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> dict:
    """Return a validated copy of ``config`` with every default filled in.

    Raises:
        ConfigError: listing every schema violation, each with its key path, then the first
            broken cross-key rule.
    """
    schema = load_schema() if schema is None else schema
    renamed = {old: new for old, new in RENAMED_SECTIONS.items() if old in config}
    if renamed:
        raise ConfigError("; ".join(f"config key {old}: renamed {new} (the stage's one name); rename the "
                                    f"section in your config file" for old, new in renamed.items()))
    filled = copy.deepcopy(dict(config))
    errors = sorted(_Validator(schema).iter_errors(filled), key=lambda e: list(map(str, e.path)))
    if errors:
        raise ConfigError("invalid config:\n  " + "\n  ".join(_describe(e) for e in errors))
    _check_cross_keys(filled)
    return filled


def merge_config(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict:
    """``overlay`` over ``base`` as Snakemake merges a ``--configfile`` over the embedded
    config: nested mappings key by key, everything else replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(*paths: str | Path) -> dict:
    """The validated config of a campaign run as ``snakemake --configfile paths[1] ...``:
    ``paths[0]`` (the embedded ``config/config.yaml``) with each later file merged over it."""
    config: dict = {}
    for path in paths:
        config = merge_config(config, yaml.safe_load(Path(path).read_text()) or {})
    return validate_config(config)


def write_config(config: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a campaign's effective config as YAML (atomically), keys in the config's order.

    Raises:
        ConfigError: ``config`` does not validate (nothing is written).
    """
    from ionnp.io import atomic_path

    filled = validate_config(config)
    ordered = {key: filled[key] for key in load_schema()["properties"] if key in filled}  # the schema's order
    text = yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None, width=100)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _check_cross_keys(config: Mapping[str, Any]) -> None:
    """Rules that span keys, which a JSON schema cannot state."""
    charges = config["potential"]["charges"]
    if abs(sum(charges.values())) > 1e-12:
        raise ConfigError(
            f"config key potential.charges: charges {dict(charges)} do not cancel; "
            "a ZnO formula unit must be neutral"
        )
    sampling, prototypes = config["sampling"], config["prototypes"]
    for key in ("phases", "pressures"):
        missing = [v for v in sampling[key] if v not in prototypes[key]]
        if missing:
            raise ConfigError(
                f"config key sampling.{key}: {missing} not in prototypes.{key} "
                f"{prototypes[key]}; a run starts from the prototype relaxed at its phase and pressure"
            )
    missing = [v for v in config["eos"]["phases"] if v not in prototypes["phases"]]
    if missing:
        raise ConfigError(f"config key eos.phases: {missing} not in prototypes.phases "
                          f"{prototypes['phases']}; an equation of state scales the relaxed prototype")
    if 0 not in prototypes["pressures"]:
        raise ConfigError("config key prototypes.pressures: must include 0; the equations of "
                          "state and the MD start from the cells relaxed at 0 GPa")
    distill = config["distill"]
    pool = pool_size(config)
    if distill["n_pretrain"] > pool:
        raise ConfigError(
            f"config key distill.n_pretrain: {distill['n_pretrain']} frames asked for, but the "
            f"sampling grid writes {pool} (runs × sampling.steps // sampling.write_every)"
        )
    if distill["n_dft"] > distill["n_pretrain"]:
        raise ConfigError(
            f"config key distill.n_dft: {distill['n_dft']} exceeds distill.n_pretrain = "
            f"{distill['n_pretrain']}; DFT structures are chosen within the pretraining set"
        )
    active = distill["active"]
    if distill["method"] == "active" and active["n_seed"] >= distill["n_dft"]:
        raise ConfigError(f"config key distill.active.n_seed: {active['n_seed']} leaves nothing of "
                          f"distill.n_dft = {distill['n_dft']} to the active rounds")
    if distill["method"] == "active" and active["acquisition"] == "disagreement" and active["ensemble_size"] < 2:
        raise ConfigError("config key distill.active.ensemble_size: acquisition disagreement needs ≥ 2 members")

    dft = config["dft"]
    fractions = dft["split"]
    if abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise ConfigError(f"config key dft.split: fractions {dict(fractions)} add up to "
                          f"{sum(fractions.values()):g}, not 1")
    if dft["command"]:
        try:
            dft["command"].format(executable="pw.x", tasks=1, pools=1)
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(f"config key dft.command: {dft['command']!r} is not a launch template "
                              f"({error!r}); placeholders: {{executable}}, {{tasks}}, {{pools}}") from None
        if "{executable}" not in dft["command"]:
            raise ConfigError(f"config key dft.command: {dft['command']!r} must name {{executable}} "
                              "(pw.x or ph.x)")
    charges = config["charges"]
    if charges["q_min"] >= charges["q_max"]:
        raise ConfigError(f"config key charges.q_min: {charges['q_min']} must be below "
                          f"charges.q_max = {charges['q_max']}")
    if charges["q_step"] > charges["q_max"] - charges["q_min"]:
        raise ConfigError(f"config key charges.q_step: {charges['q_step']} leaves no second point "
                          f"between charges.q_min = {charges['q_min']} and q_max = {charges['q_max']}")
    if not {"zincblende", "wurtzite"} & set(config["eos"]["phases"]):
        raise ConfigError("config key eos.phases: needs zincblende or wurtzite; the frozen "
                          "modulations of charges.lt take their lattice constant from its DFT "
                          "equation of state")
    if "wurtzite" not in config["eos"]["phases"]:
        raise ConfigError("config key eos.phases: needs wurtzite; the DFPT cross-check of "
                          "charges.dfpt runs on wurtzite at its DFT equilibrium volume")
    transition = config["transition"]
    if transition["steps_per_pressure"] % transition["every"] or transition["frames_every"] % transition["every"]:
        raise ConfigError(f"config key transition.every: {transition['every']} must divide "
                          f"transition.steps_per_pressure ({transition['steps_per_pressure']}) and "
                          f"transition.frames_every ({transition['frames_every']})")
    if list(transition["pressures"]) != sorted(set(transition["pressures"])):
        raise ConfigError(f"config key transition.pressures: {transition['pressures']} must increase")
    if not {"wurtzite", "rocksalt"} <= set(config["prototypes"]["phases"]):
        raise ConfigError("config key prototypes.phases: the transition ramp needs wurtzite and rocksalt")
    if charges["lt"]["amplitude"] == charges["lt"]["harmonic_amplitude"]:
        raise ConfigError("config key charges.lt.harmonic_amplitude: must differ from "
                          "charges.lt.amplitude (it checks how the L - T energy scales)")
    model_cutoff = config["model"]["descriptors"]["cutoff"]
    if charges["basis"]["cutoff"] != model_cutoff:
        raise ConfigError(f"config key charges.basis.cutoff: {charges['basis']['cutoff']} Å differs "
                          f"from model.descriptors.cutoff = {model_cutoff} Å; the scan must judge "
                          "what a short-range model of the NNP's range can learn")
    if dft["pseudo_dir"] is not None:
        missing = [e for e in config["potential"]["charges"] if e not in dft["pseudopotentials"]]
        if missing:
            raise ConfigError(f"config key dft.pseudopotentials: no file for {missing} (dft.pseudo_dir is set)")
        for element, name in dft["pseudopotentials"].items():
            if not Path(dft["pseudo_dir"], name).is_file():
                raise ConfigError(f"config key dft.pseudopotentials.{element}: "
                                  f"{Path(dft['pseudo_dir'], name)} does not exist")
    elif dft["pseudopotentials"]:
        raise ConfigError("config key dft.pseudopotentials: set dft.pseudo_dir too, or leave "
                          "both out to generate pseudopotentials with ld1.x")


def pool_size(config: Mapping[str, Any]) -> int:
    """Frames the sampling grid of a validated config writes."""
    sampling = config["sampling"]
    runs = (len(sampling["phases"]) * len(sampling["temperatures"]) * len(sampling["pressures"])
            * sampling["walkers"])
    return runs * (sampling["steps"] // sampling["write_every"])


def n_dft_shards(config: Mapping[str, Any]) -> int:
    """Number of DFT shards (known from config, so the DAG is static)."""
    distill = config["distill"]
    return -(-distill["n_dft"] // distill["shard_size"])
