"""Rule distill: the pretraining and DFT sets (FPS, stratified or active), with their plots."""

import _ionnp_path  # noqa: F401
import numpy as np
import pandas as pd

from ionnp.distill.active import ActiveSettings, distill_active
from ionnp.distill.fps import standardise
from ionnp.distill.selection import select, select_stratified, shards, strata, within_caps
from ionnp.frames import read_frames, write_frames
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file
from ionnp.nnp.short_range import ModelSettings
from ionnp.plots import plot_active_curve, plot_coverage, plot_distillation_map
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
out, settings, proxy = snakemake.output, snakemake.params.distill, snakemake.params.proxy
pool = read_frames(snakemake.input.pool)
for index, atoms in enumerate(pool):
    atoms.info["pool_index"] = index
features = np.load(snakemake.input.features)
rounds = None
if settings["method"] in ("stratified", "active"):
    max_pressure, min_contact = settings["max_pressure_gpa"], settings["min_contact"]
    eligible = within_caps(pool, max_pressure, min_contact)
    log.info("%s: %d of %d pool frames within the caps (P ≤ %s GPa, contacts ≥ %s Å)", settings["method"],
             eligible.sum(), len(pool), max_pressure, min_contact)
if settings["method"] == "active":
    active = distill_active(pool, features, eligible, settings["n_pretrain"], settings["n_dft"],
                            ActiveSettings.from_config(settings["active"]),
                            ModelSettings.from_config(proxy["model"]), proxy["elements"], seed=proxy["seed"],
                            log=log.info)
    selection, rounds = active.selection, active.rounds
    with atomic_path(out.curve) as tmp:
        curves = [active.curve.assign(method="active")]
        if active.baseline is not None:
            curves.append(active.baseline.assign(method="stratified"))
        pd.concat(curves).to_csv(tmp, index=False)
    plot_active_curve(active.curve, active.baseline, out.curve_png)
elif settings["method"] == "stratified":
    selection = select_stratified(features, strata(pool), eligible, settings["n_pretrain"], settings["n_dft"])
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
if rounds is not None:
    table["round"] = np.concatenate([np.full(len(selection.pretrain.indices), np.nan), rounds])
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
