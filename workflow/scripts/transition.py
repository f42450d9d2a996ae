"""Rule transition: the NPT pressure ramp with the final NNP or the empirical potential."""

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.chemistry import Chemistry
from ionnp.evaluate.transition import Checkpoint, RampSettings, empirical_ramp, nnp_ramp
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file
from ionnp.runtime import configure_torch
from ionnp.potential import RigidIonPotential
from ionnp.prototypes.structures import repeat

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
settings = RampSettings.from_config(snakemake.params.transition, snakemake.params.cv_r0)
potential = RigidIonPotential.from_config(snakemake.params.potential)
chemistry = potential.chemistry
start = repeat(ase.io.read(snakemake.input.start), settings.supercell, chemistry)
start.calc = None
log.info("%s: %d atoms, ramp %s GPa at %g K, %d steps each", snakemake.wildcards.potential, len(start),
         settings.ramp, settings.temperature_k, settings.steps_per_pressure)
checkpoints = snakemake.params.checkpoints
if snakemake.wildcards.potential == "nnp":
    trace, frames = nnp_ramp(start, snakemake.input.model, settings, chemistry, snakemake.params.seed, checkpoints)
else:
    trace, frames = empirical_ramp(start, potential, settings, chemistry, snakemake.params.seed, checkpoints)
with atomic_path(snakemake.output.trace) as tmp:
    trace.to_csv(tmp, index=False, float_format="%.6g")
write_extxyz(snakemake.output.frames, frames)
Checkpoint(checkpoints, "").remove()  # the outputs hold everything now
log.info("done: %d steps, last CV %.2f", trace.step.iloc[-1], trace.cv.iloc[-1])
