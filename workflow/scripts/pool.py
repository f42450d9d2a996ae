"""Rule pool: merge every run's frames into the pool, with an index table and a map."""

import _ionnp_path  # noqa: F401

from ionnp.frames import merge_frames, read_frames
from ionnp.io import atomic_path, write_extxyz
from ionnp.logs import log_to_file
from ionnp.plots import plot_pool
from ionnp.sampling.pool import pool_index

log = log_to_file(snakemake.log[0])
output = snakemake.output
count = merge_frames(snakemake.input.runs, output.frames)
frames = read_frames(output.frames)
write_extxyz(output.extxyz, frames)
index = pool_index(frames)
with atomic_path(output.index) as tmp:
    index.to_csv(tmp, index=False, float_format="%.10g")
plot_pool(index, output.plot)
log.info("pool: %d frames from %d runs\n%s", count, len(snakemake.input.runs),
         index.groupby(["phase", "run_pressure_gpa"])["cv"].describe().to_string())
