# Config helpers shared by the stage rules: every parameter reaches a rule through here.
import os

from ionnp.config import loading_phases, lt_volume_phase as volume_phase_of
from ionnp.train.settings import FINETUNE_LOSS_WEIGHTS


wildcard_constraints:
    phase="|".join(config["prototypes"]["phases"]),
    p=r"-?\d+(\.\d+)?",


def number_label(value):
    """A number (pressure in GPa, temperature in K, charge in e) as it appears in file names:
    10.0 → '10', 2.5 → '2.5', 0.75 → '0.75'."""
    return f"{float(value):g}"


def prototype_files():
    """Every relaxed prototype the config asks for."""
    return expand(
        "results/prototypes/{phase}_P{p}.extxyz",
        phase=config["prototypes"]["phases"],
        p=[number_label(p) for p in config["prototypes"]["pressures"]],
    )


def prototype_params(wildcards):
    """What one prototype job reads: its phase's structure, the supercell, the force tolerance
    (changing one phase's structure reruns only that phase)."""
    section = config["prototypes"]
    return {
        "structure": section["structures"][wildcards.phase],
        "supercell": section["supercell"],
        "force_tolerance": section["force_tolerance"],
    }


def structure_file(wildcards):
    """The phase's structure file, if it is given as one (an input: editing it reruns the phase)."""
    structure = config["prototypes"]["structures"][wildcards["phase"]]
    return [structure["file"]] if "file" in structure else []


def role(name):
    """The phase playing ``name`` (prototypes.roles): ground_state, high_pressure, polar_cubic."""
    return config["prototypes"]["roles"][name]


wildcard_constraints:
    t=r"\d+(\.\d+)?",
    walker=r"\d+",
    k=r"\d+",
    element="|".join(config["potential"]["charges"]),


def sampling_runs():
    """Frame databases of every metadynamics run of the sampling grid."""
    section = config["sampling"]
    return expand(
        "results/sampling/{phase}/T{t}_P{p}_w{walker}.db",
        phase=section["phases"],
        t=[number_label(t) for t in section["temperatures"]],
        p=[number_label(p) for p in section["pressures"]],
        walker=range(section["walkers"]),
    )


def sampling_run_settings():
    """The sampling keys one metadynamics run reads (ionnp.sampling.driver.RunSettings), not the grid
    (phases, temperatures, pressures, walkers, supercells): adding a temperature schedules only
    the new runs and what depends on the pool."""
    section = config["sampling"]
    keys = ("timestep_fs", "steps", "write_every", "thermostat_damping_fs", "barostat_damping_fs",
            "kspace_accuracy", "max_temperature_factor", "metadynamics")
    return {key: section[key] for key in keys}


def sampling_supercell(wildcards):
    """Repetition of the prototype cell sampled for this run's phase."""
    return config["sampling"]["supercell"][wildcards.phase]


def run_seed(wildcards):
    """A seed per run, fixed by the campaign seed and the run's wildcards."""
    import zlib

    name = f"{wildcards.phase}/T{wildcards.t}/P{wildcards.p}/w{wildcards.walker}"
    return (config["seed"] + zlib.crc32(name.encode())) % 2**31


def loading_cell_settings(wildcards):
    """What one phase's loading cells are built from: its supercell, the paths (by name: the
    order a file lists them in changes nothing), the strains, the rattle (another phase's
    supercell reruns nothing here)."""
    section = config["loading"]
    return {
        "supercell": section["supercell"].get(wildcards.phase, [1, 1, 1]),
        "paths": dict(sorted(section["paths"].items())),
        "strains": section["strains"],
        "rattle": section["rattle"],
    }


def phase_seed(wildcards):
    """A seed per phase, fixed by the campaign seed and the phase's name."""
    import zlib

    return (config["seed"] + zlib.crc32(wildcards.phase.encode())) % 2**31


def dft_shard_indices():
    """Indices of the DFT shards; their number follows from config alone."""
    from ionnp.config import n_dft_shards

    return range(n_dft_shards(config))


def active_distill_outputs():
    """The learning curves of distill.method active (none for the other methods)."""
    if config["distill"]["method"] != "active":
        return {}
    return {
        "curve": "results/distill/active_curve.csv",
        "curve_png": report(
            "results/distill/active_curve.png",
            caption="../report/active_curve.rst",
            category="3. Distillation",
        ),
    }


def active_distill_proxy():
    """What the proxy models of distill.method active are built from (model, elements, seed);
    nothing for the other methods, so that a new model or seed does not redo their selection."""
    if config["distill"]["method"] != "active":
        return {}
    return {"model": config["model"], "elements": list(config["potential"]["charges"]), "seed": config["seed"]}


def dft_shard_files():
    """The DFT shards of the distilled set."""
    return expand("results/distill/dft_shard_{k}.db", k=dft_shard_indices())


def run_settings(section):
    """A config section without its job keys (threads, runtime): changing how a job is
    scheduled does not rerun it."""
    return {key: value for key, value in config[section].items() if key not in ("threads", "runtime")}


def distill_params():
    """The distill keys the configured method reads: the caps only for stratified and active,
    the rounds only for active (changing another method's keys reruns nothing)."""
    section = config["distill"]
    keys = ["method", "n_pretrain", "n_dft", "shard_size"]
    if section["method"] in ("stratified", "active"):
        keys += ["max_pressure_gpa", "min_contact"]
    if section["method"] == "active":
        keys.append("active")
    return {key: section[key] for key in keys}


def dft_calculation():
    """The dft settings that change a pw.x result or its launch (not split or tolerances).
    Finished structures are reused by their fingerprint (ionnp.dft.pw.DftSettings), whatever
    reruns a job."""
    keys = ("ecutwfc", "ecutrho", "kspacing", "smearing", "degauss", "conv_thr_per_atom",
            "mixing_beta", "electron_maxstep", "max_attempts", "dispersion", "launcher", "command")
    return {key: config["dft"][key] for key in keys}


def eos_training_files(suffix):
    """The equation-of-state pw.x results that join the DFT dataset (dft.eos_in_training)."""
    if not config["dft"]["eos_in_training"]:
        return []
    return expand("results/dft/eos/{phase}.{suffix}", phase=config["eos"]["phases"], suffix=suffix)


def pseudopotential_source(wildcards):
    """The user's UPF file for this element, or None to generate one with ld1.x."""
    dft = config["dft"]
    if dft["pseudo_dir"] is None:
        return None
    return os.path.join(dft["pseudo_dir"], dft["pseudopotentials"][wildcards.element])


def charge_scan_settings():
    """The charges keys the scan reads, and only those: editing the plot markers (rule
    charge_scan_plot), the choice (method: rule q_eff), the modulations (lt) or DFPT reruns
    only what reads them."""
    keys = ("q_min", "q_max", "q_step", "cv", "folds", "bootstrap", "confidence", "max_interval",
            "loss_weights", "energy_weight", "forces_weight", "stress_weight", "ridge", "stress_intercept",
            "basis")
    return {key: config["charges"][key] for key in keys}


def scan_finetune_settings():
    """The loss weights of train.finetune where the scan takes them (charges.loss_weights:
    finetune), else nothing: the scan reruns for new fine-tuning weights, not for the rest of
    the recipe (epochs, learning rate, start)."""
    if config["charges"]["loss_weights"] != "finetune":
        return {}
    section = config["train"]["finetune"]
    return {key: section[key] for key in FINETUNE_LOSS_WEIGHTS if key in section}


def lt_volume_phase():
    """The phase whose DFT equation of state sets the frozen modulations' lattice constant
    (ionnp.config.lt_volume_phase)."""
    return volume_phase_of(config)


def transition_inputs(wildcards):
    """The ramp's start, and for the NNP's ramp the final model."""
    inputs = {"start": f"results/prototypes/{role('ground_state')}_P0.extxyz"}
    if wildcards.potential == "nnp":
        inputs["model"] = final_model()
    return inputs


wildcard_constraints:
    r=r"\d+",
    potential="nnp|empirical",
    start="finetune|scratch",
    q=r"eff|\d+(\.\d+)?",


def model_files():
    """Every model the config asks for: fine-tuned at q_eff and at each q of the grid, the
    from-scratch baseline at q_eff (q = 0 is the no-Coulomb baseline), and each refinement
    round's."""
    training = config["train"]
    files = ["models/finetune_qeff.pt"]
    files += [f"models/finetune_q{number_label(q)}.pt" for q in training["q_grid"]]
    if training["scratch_baseline"]:
        files.append("models/scratch_qeff.pt")
    return files + refined_models()


def model_name(path):
    """A model file's name as the evaluation tables give it: models/refine_r1.pt → refine_r1."""
    return os.path.splitext(os.path.basename(path))[0]


def refined_models():
    """The model of each refinement round, in order (none with refine.rounds: 0)."""
    return [f"models/refine_r{r}.pt" for r in range(1, config["refine"]["rounds"] + 1)]


def final_model():
    """The campaign's final model: the last refinement round's, else the one-shot fine-tune
    at q_eff. MD, equations of state, the ramp, validation and deployment use it."""
    return (refined_models() or ["models/finetune_qeff.pt"])[-1]


def previous_model(wildcards):
    """The model round r explores with and starts from: round r − 1's (round 0: the one-shot
    fine-tune, or refine.start)."""
    r = int(wildcards.r)
    if r > 1:
        return f"models/refine_r{r - 1}.pt"
    return config["refine"]["start"] or "models/finetune_qeff.pt"


def earlier_selections(wildcards):
    """The selection summaries of the rounds before r (a converged one ends the exploration)."""
    return [f"results/refine/round{k}/selection.json" for k in range(1, int(wildcards.r))]


def round_dft_files(wildcards):
    """DFT frames of rounds 1..r: the data round r's fine-tune adds to the campaign's."""
    return [f"results/refine/round{k}/dft.db" for k in range(1, int(wildcards.r) + 1)]


def refine_starts():
    """The relaxed prototypes the exploration starts from: every explored phase at every
    pressure of the grid, and the ground state (and high-pressure phase) at 0 GPa."""
    from ionnp.config import refine_phases

    pressures = [number_label(p) for p in config["refine"]["explore"]["pressures"]]
    files = expand("results/prototypes/{phase}_P{p}.extxyz", phase=refine_phases(config), p=pressures)
    files += [f"results/prototypes/{phase}_P0.extxyz" for phase in deformed_phases()]
    return sorted(set(files))


def deformed_phases():
    """The phases deformed and heated in the exploration: the ground state and the high-pressure
    phase (where there is one)."""
    roles = config["prototypes"]["roles"]
    return [roles["ground_state"]] + ([roles["high_pressure"]] if roles["high_pressure"] else [])


def explore_settings():
    """What the exploration reads (not the budget, trust or training keys)."""
    section = config["refine"]
    explore = {**section["explore"], "deform": dict(sorted(section["explore"]["deform"].items()))}
    return {"explore": explore, "phases": section["phases"] or config["sampling"]["phases"],
            "supercell": {p: section["supercell"].get(p, config["sampling"]["supercell"].get(p, [1, 1, 1]))
                          for p in sorted(set(section["phases"] or config["sampling"]["phases"]) | set(deformed_phases()))},
            "deformed": deformed_phases()}


def finetune_inputs(wildcards):
    """DFT data, unit-charge Coulomb, the DFT stress check, the chosen q when q = eff, the
    A-Train at the same q."""
    inputs = {
        "dataset": "results/dft/dataset.db",
        "coulomb": "results/charges/coulomb_q1.npz",
        "stress_check": "results/dft/stress_check.json",
    }
    if wildcards.q == "eff":
        inputs["q_eff"] = "results/charges/q_eff.json"
    if wildcards.start == "finetune":
        inputs["pretrained"] = f"models/pretrain_q{wildcards.q}.pt"
    return inputs


def pretrain_inputs(wildcards):
    """A-Train frames, their unit-charge Coulomb results, and the chosen q when q = eff."""
    inputs = {
        "frames": "results/distill/pretrain.db",
        "coulomb": "results/train/pretrain_coulomb_q1.npz",
    }
    if wildcards.q == "eff":
        inputs["q_eff"] = "results/charges/q_eff.json"
    return inputs
