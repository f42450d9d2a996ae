# Config helpers shared by the stage rules: every parameter reaches a rule through here.
import os


wildcard_constraints:
    phase="|".join(config["prototypes"]["phases"]),
    p=r"-?\d+(\.\d+)?",


def pressure_label(pressure):
    """A pressure (GPa) as it appears in file names: 10.0 → '10', 2.5 → '2.5'."""
    return f"{float(pressure):g}"


def prototype_files():
    """Every relaxed prototype the config asks for."""
    return expand(
        "results/structures/{phase}_P{p}.extxyz",
        phase=config["prototypes"]["phases"],
        p=[pressure_label(p) for p in config["prototypes"]["pressures"]],
    )


def prototype_params():
    """Relaxation settings of the prototypes stage."""
    section = config["prototypes"]
    return {
        "supercell": section["supercell"],
        "force_tolerance": section["force_tolerance"],
    }


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
        t=[f"{t:g}" for t in section["temperatures"]],
        p=[pressure_label(p) for p in section["pressures"]],
        walker=range(section["walkers"]),
    )


def sampling_supercell(wildcards):
    """Repetition of the prototype cell sampled for this run's phase."""
    return config["sampling"]["supercell"][wildcards.phase]


def run_seed(wildcards):
    """A seed per run, fixed by the campaign seed and the run's wildcards."""
    import zlib

    name = f"{wildcards.phase}/T{wildcards.t}/P{wildcards.p}/w{wildcards.walker}"
    return (config["seed"] + zlib.crc32(name.encode())) % 2**31


def dft_shard_indices():
    """Indices of the DFT shards; their number follows from config alone."""
    from ionnp.config import n_dft_shards

    return range(n_dft_shards(config))


def dft_shard_files():
    """The DFT shards of the distilled set."""
    return expand("results/distill/dft_shard_{k}.db", k=dft_shard_indices())


def pseudopotential_source(wildcards):
    """The user's UPF file for this element, or None to generate one with ld1.x."""
    dft = config["dft"]
    if dft["pseudo_dir"] is None:
        return None
    return os.path.join(dft["pseudo_dir"], dft["pseudopotentials"][wildcards.element])
