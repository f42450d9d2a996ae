"""Rule refine_report: the rounds side by side (ionnp.refine.report) and their plot."""

import json

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.plots import plot_rounds
from ionnp.refine.report import benchmark_core_seconds, rounds_table

log = log_to_file(snakemake.log[0])
config = snakemake.config
threads = {"explore": config["refine"]["threads"], "train": config["refine"]["threads"], "dft": config["dft"]["tasks"]}
table = rounds_table([json.loads(open(path).read()) for path in snakemake.input.summaries],
                     pd.read_csv(snakemake.input.metrics), pd.read_csv(snakemake.input.loading),
                     benchmark_core_seconds(snakemake.input.costs, threads))
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
log.info("rounds:\n%s", table.to_string())
plot_rounds(table, snakemake.output.plot)
