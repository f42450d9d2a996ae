"""Rule eos: Birch–Murnaghan fits per polymorph and transition pressures, for DFT, the final
NNP and the empirical potential, on the same cells."""

import json

import _ionnp_path  # noqa: F401

from ionnp.evaluate.eos import converged_volumes, fit_table, fits_of, points_table, transition_table
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.calculator import IonnpCalculator
from ionnp.plots import plot_eos
from ionnp.runtime import configure_torch
from ionnp.potential import RigidIonPotential

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
params, out = snakemake.params, snakemake.output
phases = params.eos["phases"]
nnp = IonnpCalculator(snakemake.input.model, spread=False)
empirical = RigidIonPotential.from_config(params.potential)

frames = []
for phase, path, status_path in zip(phases, snakemake.input.dft, snakemake.input.status):
    converged = read_frames(path)
    for s in converged_volumes(phase, converged, json.loads(open(status_path).read())):
        log.warning("eos %s: %s %s, left out: %s", phase, s["structure_id"], s["status"], s["reason"][:200])
    frames += converged
points = points_table(frames, nnp, empirical)
fits = fit_table(points)
transitions = transition_table(fits, params.ground_state, params.eos["max_pressure"])
log.info("fits:\n%s\ntransitions:\n%s", fits.to_string(), transitions.to_string())
for table, path in ((points, out.points), (fits, out.fits), (transitions, out.transitions)):
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
plot_eos(points, fits_of(fits), params.ground_state, params.eos["max_pressure"], out.plot)
