"""Rule refine_report: the rounds side by side (ionnp.refine.report), their plot, and where the
final model's ramp left the lower trust level."""

import json

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.plots import plot_rounds
from ionnp.refine.report import benchmark_core_seconds, ramp_against_trust, rounds_table

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

trust = json.loads(open(snakemake.input.trust).read())
ramp = ramp_against_trust(pd.read_csv(snakemake.input.ramp), trust["low"]) if snakemake.input.ramp else None
with atomic_path(snakemake.output.ramp) as tmp:
    tmp.write_text(json.dumps(ramp, indent=1))
log.info("the final model's ramp against the lower trust level: %s", ramp)
