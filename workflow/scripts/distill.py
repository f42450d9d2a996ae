"""Rule distill: FPS picks of the pretraining and DFT sets, written with their plots."""

import _ionnp_path  # noqa: F401
import numpy as np
import pandas as pd

from ionnp.distill.fps import standardise
from ionnp.distill.selection import select, select_stratified, shards, shortest_distance
from ionnp.frames import read_frames, write_frames
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file
from ionnp.plots import plot_coverage, plot_distillation_map

log = log_to_file(snakemake.log[0])
out, settings = snakemake.output, snakemake.params.distill
pool = read_frames(snakemake.input.pool)
for index, atoms in enumerate(pool):
    atoms.info["pool_index"] = index
features = np.load(snakemake.input.features)
if settings["method"] == "stratified":
    strata = [(a.info["phase"], a.info["run_temperature_k"], a.info["run_pressure_gpa"]) for a in pool]
    max_pressure, min_contact = settings["max_pressure_gpa"], settings["min_contact"]
    eligible = np.array([(max_pressure is None or a.info["pressure_gpa"] <= max_pressure)
                         and (min_contact is None or shortest_distance(a) >= min_contact) for a in pool])
    log.info("stratified: %d of %d pool frames within the caps (P ≤ %s GPa, contacts ≥ %s Å)",
             eligible.sum(), len(pool), max_pressure, min_contact)
    selection = select_stratified(features, strata, eligible, settings["n_pretrain"], settings["n_dft"])
else:
    selection = select(features, settings["n_pretrain"], settings["n_dft"])

pretrain = [pool[i] for i in selection.pretrain.indices]
write_frames(out.pretrain, pretrain)
write_extxyz(out.pretrain_extxyz, pretrain)
for path, members in zip(out.shards, shards(selection.dft.indices, settings["shard_size"], len(out.shards))):
    write_frames(path, [pool[i] for i in members])

table = pd.concat([
    pd.DataFrame({"set": "pretrain", "order": range(len(selection.pretrain.indices)),
                  "pool_index": selection.pretrain.indices, "maxmin_distance": selection.pretrain.distances}),
    pd.DataFrame({"set": "dft", "order": range(len(selection.dft.indices)),
                  "pool_index": selection.dft.indices, "maxmin_distance": selection.dft.distances}),
])
table["phase"] = [pool[i].info["phase"] for i in table.pool_index]
table["run_pressure_gpa"] = [pool[i].info["run_pressure_gpa"] for i in table.pool_index]
table["cv"] = [pool[i].info["cv"] for i in table.pool_index]
with atomic_path(out.selection) as tmp:
    table.to_csv(tmp, index=False)
plot_distillation_map(standardise(features), [a.info["phase"] for a in pool],
                      selection.pretrain.indices, selection.dft.indices, out.map)
plot_coverage(selection.pretrain.distances, selection.dft.distances, out.coverage)
log.info("picked %d for pretraining, %d for DFT\n%s", len(pretrain), len(selection.dft.indices),
         table.groupby(["set", "phase"]).size().to_string())
