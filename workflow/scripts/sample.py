"""Rule sample: one metadynamics run, labelled frames, trace and plot (ionnp.sampling)."""

import _ionnp_path  # noqa: F401
import ase.io
import numpy as np

from ionnp.frames import write_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.plots import plot_sampling_run
from ionnp.sampling.driver import RunSettings, SamplingError, run_label, sample
from ionnp.potential import RigidIonPotential
from ionnp.prototypes.structures import repeat

log = log_to_file(snakemake.log[0])
w = snakemake.wildcards
settings = RunSettings.from_config(snakemake.params.sampling, float(w.t), float(w.p),
                                   snakemake.params.seed)
potential = RigidIonPotential.from_config(snakemake.params.potential)
start = repeat(ase.io.read(snakemake.input.start), snakemake.params.supercell, potential.chemistry)
output = snakemake.output
try:
    frames, result = sample(start, potential, settings, phase=w.phase, walker=int(w.walker))
except SamplingError as error:
    partial = output.frames.removesuffix(".db") + ".partial.db"
    write_frames(partial, error.frames)
    log.error("%s; %d frames kept in %s", error, len(error.frames), partial)
    raise
write_frames(output.frames, frames)
with atomic_path(output.trace) as tmp:
    result.trace.to_csv(tmp, index=False)
grid = np.linspace(*settings.walls, 200)
plot_sampling_run(result.trace, grid, result.metadynamics.free_energy(grid), output.plot,
                  run_label(w.phase, settings.temperature, settings.pressure_gpa, int(w.walker)))
