"""Rule distill: the pretraining and DFT sets (FPS, stratified or active: ionnp.distill.stage),
with their plots."""

import _ionnp_path  # noqa: F401
import numpy as np
import pandas as pd

from ionnp.distill.fps import standardise
from ionnp.distill.selection import shards
from ionnp.distill.stage import distill, selection_table
from ionnp.frames import read_frames, write_frames
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file
from ionnp.plots import plot_active_curve, plot_coverage, plot_distillation_map
from ionnp.runtime import configure_torch, training_device

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
out, settings = snakemake.output, snakemake.params.distill
pool = read_frames(snakemake.input.pool)
for index, atoms in enumerate(pool):
    atoms.info["pool_index"] = index
features = np.load(snakemake.input.features)
# train.device is read here, not as a param: where the proxies train changes no result to rerun for
proxy = dict(snakemake.params.proxy, device=training_device(snakemake.config["train"]["device"]))
result = distill(pool, features, settings, proxy)
selection = result.selection
if result.active is not None:
    active = result.active
    with atomic_path(out.curve) as tmp:
        curves = [active.curve.assign(method="active")]
        if active.baseline is not None:
            curves.append(active.baseline.assign(method="stratified"))
        pd.concat(curves).to_csv(tmp, index=False)
    plot_active_curve(active.curve, active.baseline, out.curve_png)

pretrain = [pool[i] for i in selection.pretrain.indices]
write_frames(out.pretrain, pretrain)
write_extxyz(out.pretrain_extxyz, pretrain)
for path, members in zip(out.shards, shards(selection.dft.indices, settings["shard_size"], len(out.shards))):
    write_frames(path, [pool[i] for i in members])
table = selection_table(pool, result)
with atomic_path(out.selection) as tmp:
    table.to_csv(tmp, index=False)
plot_distillation_map(standardise(features), [a.info["phase"] for a in pool],
                      selection.pretrain.indices, selection.dft.indices, out.map)
plot_coverage(selection.pretrain.distances, selection.dft.distances, out.coverage)
log.info("picked %d for pretraining, %d for DFT\n%s", len(pretrain), len(selection.dft.indices),
         table.groupby(["set", "phase"]).size().to_string())
