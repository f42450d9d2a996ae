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
#: The workflow's directory (the repository), where shipped campaign files look for structures.
WORKFLOW_DIR = Path(__file__).resolve().parents[2]


#: Config sections that were renamed: {old name: new name}.
RENAMED_SECTIONS = {"training": "train"}

#: Mappings a layer gives whole: a campaign file that names the species, the pairs or the
#: phases replaces the default's instead of adding to it (MgO over the ZnO default keeps no Zn;
#: a campaign's loading paths replace the default's).
REPLACED_MAPPINGS = {("potential", "charges"), ("potential", "pairs"), ("prototypes", "structures"),
                     ("sampling", "supercell"), ("dft", "pseudopotentials"), ("loading", "supercell"),
                     ("loading", "paths"), ("refine", "supercell"), ("refine", "explore", "deform")}


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


def merge_config(base: Mapping[str, Any], overlay: Mapping[str, Any], _where: tuple[str, ...] = ()) -> dict:
    """``overlay`` over ``base``: nested mappings key by key, everything else replaced, and the
    :data:`REPLACED_MAPPINGS` replaced whole."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        where = (*_where, key)
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping) and where not in REPLACED_MAPPINGS:
            merged[key] = merge_config(merged[key], value, where)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(*paths: str | Path, overrides: Mapping[str, Any] | None = None,
                basedir: str | Path = WORKFLOW_DIR) -> dict:
    """The validated config of a campaign run as ``snakemake --configfile paths[1] ...
    --config overrides``: ``paths[0]`` (the embedded ``config/config.yaml``) with each later
    file, then ``overrides``, merged over it (:func:`merge_config`).

    A relative structure file (``prototypes.structures.*.file``) is found from the working
    directory, else from ``basedir`` (the workflow's directory: the shipped material files),
    and is written as an absolute path.
    """
    config: dict = {}
    for path in paths:
        config = merge_config(config, yaml.safe_load(Path(path).read_text()) or {})
    config = merge_config(config, overrides or {})
    for structure in (config.get("prototypes", {}).get("structures") or {}).values():
        if isinstance(structure, dict) and isinstance(structure.get("file"), str):
            candidates = [Path(structure["file"]), Path(basedir, structure["file"])]
            found = next((c for c in candidates if c.is_file()), None)
            if found is not None:
                structure["file"] = str(found.resolve())
    return validate_config(config)


def config_text(config: Mapping[str, Any]) -> str:
    """A campaign's effective config as YAML, keys in the schema's order: the text of
    ``results/config.yaml`` (and of the config hash in a deployed model's provenance).

    Raises:
        ConfigError: ``config`` does not validate.
    """
    filled = validate_config(config)
    ordered = {key: filled[key] for key in load_schema()["properties"] if key in filled}  # the schema's order
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=None, width=100)


def write_config(config: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a campaign's effective config (:func:`config_text`) atomically.

    Raises:
        ConfigError: ``config`` does not validate (nothing is written).
    """
    from ionnp.io import atomic_path

    text = config_text(config)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _check_cross_keys(config: Mapping[str, Any]) -> None:
    """Rules that span keys, which a JSON schema cannot state."""
    chemistry = _check_chemistry(config)
    _check_structures(config, chemistry)
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
    _check_phases(config, chemistry)
    _check_loading(config)
    _check_refine(config)
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
    transition = config["transition"]
    if transition["steps_per_pressure"] % transition["every"] or transition["frames_every"] % transition["every"]:
        raise ConfigError(f"config key transition.every: {transition['every']} must divide "
                          f"transition.steps_per_pressure ({transition['steps_per_pressure']}) and "
                          f"transition.frames_every ({transition['frames_every']})")
    if list(transition["pressures"]) != sorted(set(transition["pressures"])):
        raise ConfigError(f"config key transition.pressures: {transition['pressures']} must increase")
    if charges["lt"]["amplitude"] == charges["lt"]["harmonic_amplitude"]:
        raise ConfigError("config key charges.lt.harmonic_amplitude: must differ from "
                          "charges.lt.amplitude (it checks how the L - T energy scales)")
    model_cutoff = config["model"]["descriptors"]["cutoff"]
    if charges["basis"]["cutoff"] != model_cutoff:
        raise ConfigError(f"config key charges.basis.cutoff: {charges['basis']['cutoff']} Å differs "
                          f"from model.descriptors.cutoff = {model_cutoff} Å; the scan must judge "
                          "what a short-range model of the NNP's range can learn")
    low, high = config["evaluate"]["criteria"]["q_window"]
    if low >= high:
        raise ConfigError(f"config key evaluate.criteria.q_window: [{low}, {high}] must increase")
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
    else:
        from ionnp.dft.pseudo import recipe_elements

        missing = [e for e in config["potential"]["charges"] if e not in recipe_elements()]
        if missing:
            raise ConfigError(f"config key dft.pseudopotentials: ionnp has no ld1.x recipe for {missing} "
                              f"(it has: {', '.join(recipe_elements())}); give your own files with "
                              "dft.pseudo_dir and dft.pseudopotentials")


def loading_phases(config: Mapping[str, Any]) -> list[str]:
    """The phases of the unseen-loading test: ``loading.phases``, or the ground state and the
    high-pressure phase (where there is one)."""
    phases = config["loading"]["phases"]
    if phases is None:
        roles = config["prototypes"]["roles"]
        phases = [roles["ground_state"]] + ([roles["high_pressure"]] if roles["high_pressure"] else [])
    return list(phases)


def _check_loading(config: Mapping[str, Any]) -> None:
    from ionnp.evaluate.loading import paths_from_config

    loading, phases = config["loading"], config["prototypes"]["phases"]
    missing = [p for p in loading_phases(config) if p not in phases]
    if missing:
        raise ConfigError(f"config key loading.phases: {missing} not in prototypes.phases {phases}; "
                          "a loading path strains the phase's relaxed prototype")
    unknown = [p for p in loading["supercell"] if p not in phases]
    if unknown:
        raise ConfigError(f"config key loading.supercell: {unknown} not in prototypes.phases {phases}")
    try:
        paths_from_config(loading["paths"])
    except ValueError as error:
        raise ConfigError(f"config key {error}") from None


def refine_phases(config: Mapping[str, Any]) -> list[str]:
    """The phases of the refinement's NPT grid: ``refine.phases``, or ``sampling.phases``."""
    return list(config["refine"]["phases"] or config["sampling"]["phases"])


def _check_refine(config: Mapping[str, Any]) -> None:
    from ionnp.refine.explore import LENGTHS, TILTS

    refine, prototypes = config["refine"], config["prototypes"]
    if refine["rounds"] > 0 and refine["budget"] == 0:
        raise ConfigError(f"config key refine.budget: 0 DFT structures per round with refine.rounds = "
                          f"{refine['rounds']}; a round needs a budget (or set refine.rounds: 0)")
    low, high = refine["trust_low"], refine["trust_high"]
    if low is not None and high is not None and low >= high:
        raise ConfigError(f"config key refine.trust_low: {low} meV/atom must lie below refine.trust_high = {high}")
    missing = [p for p in refine_phases(config) if p not in prototypes["phases"]]
    if missing:
        raise ConfigError(f"config key refine.phases: {missing} not in prototypes.phases {prototypes['phases']}")
    unknown = [p for p in refine["supercell"] if p not in prototypes["phases"]]
    if unknown:
        raise ConfigError(f"config key refine.supercell: {unknown} not in prototypes.phases {prototypes['phases']}")
    explore = refine["explore"]
    missing = [p for p in explore["pressures"] if p not in prototypes["pressures"]]
    if missing:
        raise ConfigError(f"config key refine.explore.pressures: {missing} not in prototypes.pressures "
                          f"{prototypes['pressures']}; a run starts from the prototype relaxed at its pressure")
    unknown = [d for d in explore["deform"] if d not in LENGTHS + TILTS]
    if unknown:
        raise ConfigError(f"config key refine.explore.deform: {unknown} are not LAMMPS fix deform "
                          f"dimensions ({', '.join(LENGTHS + TILTS)})")
    if explore["steps"] < explore["every"]:
        raise ConfigError(f"config key refine.explore.every: {explore['every']} steps between snapshots "
                          f"exceed refine.explore.steps = {explore['steps']}")
    if refine["rounds"] > 0 and refine["start"] is not None and not Path(refine["start"]).is_file():
        raise ConfigError(f"config key refine.start: {refine['start']} does not exist; round 1 starts "
                          "from a fine-tuned model file (null: the campaign's models/finetune_qeff.pt)")
    try:
        from ionnp.train.settings import TrainingSettings

        TrainingSettings.from_config(merge_config(config["train"]["finetune"], refine["finetune"]), finetune=True)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"config key refine.finetune: {error}") from None


def _check_chemistry(config: Mapping[str, Any]):
    """The species (potential.charges) and the pairs between them; returns the Chemistry."""
    from ionnp.chemistry import Chemistry

    charges = config["potential"]["charges"]
    try:
        chemistry = Chemistry.from_charges(charges)
    except ValueError as error:
        raise ConfigError(f"config key potential.charges: {error}") from None
    for pair in config["potential"]["pairs"]:
        unknown = [s for s in pair.split("-") if s not in charges]
        if unknown:
            raise ConfigError(f"config key potential.pairs.{pair}: {unknown} not in potential.charges "
                              f"{dict(charges)}")
    return chemistry


def _check_structures(config: Mapping[str, Any], chemistry) -> None:
    """Every structure builds with the campaign's species, every relaxed phase has one."""
    from ionnp.prototypes.structures import build

    structures, phases = config["prototypes"]["structures"], config["prototypes"]["phases"]
    for phase, structure in structures.items():
        try:
            build(structure, chemistry)
        except (ValueError, RuntimeError, KeyError, TypeError) as error:
            raise ConfigError(f"config key prototypes.structures.{phase}: {error}") from None
    unknown = [p for p in phases if p not in structures]
    if unknown:
        raise ConfigError(f"config key prototypes.phases: {unknown} not in prototypes.structures "
                          f"({', '.join(structures)})")


def _check_phases(config: Mapping[str, Any], chemistry) -> None:
    """Every role names a relaxed phase, the polar crystal is cubic, every sampled phase has a
    supercell, and the stages that need a role's DFT equation of state get it."""
    from ionnp.charges.polar import PolarCrystal

    prototypes = config["prototypes"]
    structures, phases, roles = prototypes["structures"], prototypes["phases"], prototypes["roles"]
    for name, phase in roles.items():  # the polar crystal is built, not relaxed: structures suffice
        known = structures if name == "polar_cubic" else phases
        where = "prototypes.structures" if name == "polar_cubic" else "prototypes.phases"
        if phase is not None and phase not in known:
            raise ConfigError(f"config key prototypes.roles.{name}: {phase!r} is not in {where} {list(known)}")
    try:
        PolarCrystal.from_structure(structures[roles["polar_cubic"]], chemistry)
    except ValueError as error:
        raise ConfigError(f"config key prototypes.roles.polar_cubic: {error}") from None
    sampling = config["sampling"]
    missing = [p for p in sampling["phases"] if p not in sampling["supercell"]]
    unknown = [p for p in sampling["supercell"] if p not in structures]
    if missing or unknown:
        raise ConfigError("config key sampling.supercell: " + (f"no supercell for {missing} (sampling.phases)"
                          if missing else f"{unknown} not in prototypes.structures"))
    eos = config["eos"]["phases"]
    needs = {"prototypes.roles.ground_state (DFPT cell, where transitions start)": roles["ground_state"],
             "charges.lt.volume_phase (the modulations' lattice constant)": lt_volume_phase(config)}
    if roles["high_pressure"] is not None:
        needs["prototypes.roles.high_pressure (the transition criterion)"] = roles["high_pressure"]
    for what, phase in needs.items():
        if phase not in eos:
            raise ConfigError(f"config key eos.phases: needs {phase!r} for {what}; it takes that phase's "
                              "DFT equation of state")


def lt_volume_phase(config: Mapping[str, Any]) -> str:
    """The phase whose DFT equilibrium volume per formula unit sets the frozen modulations'
    lattice constant: ``charges.lt.volume_phase``, else the polar crystal where ``eos.phases``
    has it, else the ground state."""
    roles = config["prototypes"]["roles"]
    if config["charges"]["lt"]["volume_phase"]:
        return config["charges"]["lt"]["volume_phase"]
    return roles["polar_cubic"] if roles["polar_cubic"] in config["eos"]["phases"] else roles["ground_state"]


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
