"""Rule refine_explore: round r's exploration with round r − 1's model (ionnp.refine.explore);
nothing once an earlier round has converged."""

import json

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.frames import write_frames
from ionnp.logs import log_to_file
from ionnp.nnp.potential import NNPotential
from ionnp.potential import RigidIonPotential
from ionnp.prototypes.structures import repeat
from ionnp.refine.explore import ExploreSettings, explore
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
settings = snakemake.params.settings
converged = [path for path in snakemake.input.earlier if json.loads(open(path).read())["converged"]]
if converged:
    log.info("an earlier round converged (%s): nothing to explore", converged[0])
    frames = []
else:
    chemistry = RigidIonPotential.from_config(snakemake.params.potential).chemistry
    starts = {}
    for path in snakemake.input.starts:
        atoms = ase.io.read(path)
        phase, pressure = atoms.info["phase"], float(atoms.info["pressure_gpa"])
        atoms = repeat(atoms, settings["supercell"][phase], chemistry)
        atoms.info["phase"] = phase
        starts[(phase, pressure)] = atoms
    trust = json.loads(open(snakemake.input.trust).read())
    explore_config = ExploreSettings.from_config(settings["explore"])
    grid = {key: atoms for key, atoms in starts.items()
            if key[0] in settings["phases"] and key[1] in explore_config.pressures}
    frames = explore(grid, {phase: starts[(phase, 0.0)] for phase in settings["deformed"]},
                     NNPotential.load(snakemake.input.model), explore_config,
                     max_spread_ev_per_atom=trust["high"] / 1000.0, seed=snakemake.params.seed)
for k, atoms in enumerate(frames):
    atoms.info["explore_index"] = k
write_frames(snakemake.output.frames, frames)
log.info("round %s: %d snapshots explored", snakemake.wildcards.r, len(frames))
