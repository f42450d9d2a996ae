"""Rule lt: q from the L − T energy ratios of the frozen modulations, extrapolated in λ."""

import json

import _ionnp_path  # noqa: F401

from ionnp.charges.modulation import ModulationSettings, estimate, ratio_table
from ionnp.chemistry import Chemistry
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.plots import plot_lt
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
settings = ModulationSettings.from_config(snakemake.params.lt)
table = ratio_table(read_frames(snakemake.input.frames), Chemistry.from_charges(snakemake.params.charges))
result = estimate(table, settings)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.8g")
with atomic_path(snakemake.output.result) as tmp:
    tmp.write_text(json.dumps(result, indent=1))
plot_lt(table, result, settings, snakemake.output.plot)
log.info("q_L/T = %.4f ± %.4f e\n%s", result["q"], result["q_error"], table.to_string())
