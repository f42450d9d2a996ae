# Config helpers shared by the stage rules: every parameter reaches a rule through here.


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
