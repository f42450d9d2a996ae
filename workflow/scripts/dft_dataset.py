"""Rule dft_dataset: converged structures of all shards, failures listed, split assigned."""

import _ionnp_path  # noqa: F401

import json

import pandas as pd

from ionnp.dft import check_failures
from ionnp.frames import iter_frames, write_frames
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file
from ionnp.splits import stratified_split

log = log_to_file(snakemake.log[0])
out = snakemake.output
statuses = [json.loads(open(path).read()) for path in snakemake.input.status]
failed = check_failures(statuses, snakemake.params.max_failed_fraction)
with atomic_path(out.failed) as tmp:
    pd.DataFrame(failed, columns=["structure_id", "status", "reason", "attempts", "wall_time_s"]).to_csv(tmp, index=False)
frames = [atoms for path in snakemake.input.frames for atoms in iter_frames(path)]
strata = [(a.info["phase"], a.info["run_pressure_gpa"]) for a in frames]
for atoms, split in zip(frames, stratified_split(strata, snakemake.params.split, snakemake.params.seed)):
    atoms.info["split"] = split
write_frames(out.dataset, frames)
write_extxyz(out.extxyz, frames)
table = pd.DataFrame([{k: a.info[k] for k in ("structure_id", "pool_index", "phase", "run_pressure_gpa", "split")}
                      | {"n_atoms": len(a), "energy_per_atom": a.get_potential_energy() / len(a)} for a in frames])
with atomic_path(out.split) as tmp:
    table.to_csv(tmp, index=False)
log.info("dataset: %d converged, %d failed\n%s", len(frames), len(failed),
         table.groupby(["split", "phase"]).size().to_string())
