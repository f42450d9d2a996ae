"""Rule prototype: build one phase (ionnp.prototypes.structures) and relax it at one pressure
(ionnp.prototypes.polymorphs.relax)."""

import _ionnp_path  # noqa: F401

from ionnp.io import write_extxyz
from ionnp.logs import log_to_file
from ionnp.potential import RigidIonPotential
from ionnp.prototypes.polymorphs import relax
from ionnp.prototypes.structures import build

log = log_to_file(snakemake.log[0])
phase, pressure = snakemake.wildcards.phase, float(snakemake.wildcards.p)
settings = snakemake.params.relaxation
potential = RigidIonPotential.from_config(snakemake.params.potential)
start = build(settings["structure"], potential.chemistry, settings["supercell"])
structure = relax(start, phase, pressure, potential, force_tolerance=settings["force_tolerance"])
log.info("%s at %g GPa: H = %.6f eV/f.u., V = %.4f Å³/f.u.", phase, pressure,
         structure.info["enthalpy_per_fu"], structure.info["volume_per_fu"])
write_extxyz(snakemake.output.structure, structure)
