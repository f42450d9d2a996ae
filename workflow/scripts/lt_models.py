"""Rule lt_models: every model's L − T energy of the frozen modulations against DFT's."""

import json
from pathlib import Path

import _ionnp_path  # noqa: F401

from ionnp.chemistry import Chemistry
from ionnp.evaluate.modulations import model_lt_table, rms_errors
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.potential import NNPotential
from ionnp.plots import plot_lt_models
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
models = {Path(path).stem: NNPotential.load(path) for path in snakemake.input.models}
table = model_lt_table(read_frames(snakemake.input.frames), models,
                       Chemistry.from_charges(snakemake.params.charges))
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
lt = json.loads(open(snakemake.input.lt).read())
plot_lt_models(table, snakemake.params.amplitude, (lt["q"], lt["q_error"]), snakemake.output.plot)
log.info("RMS L - T error (meV per cell):\n%s", rms_errors(table, snakemake.params.amplitude).to_string())
