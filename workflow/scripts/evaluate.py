"""Rule evaluate: metrics per variant, parity plots, test error against q next to the scan."""

from pathlib import Path

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.charges.coulomb import read_results
from ionnp.evaluate.errors import empirical_predictions, evaluate_variant, predictions
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.potential import NNPotential
from ionnp.plots import plot_error_vs_q, plot_parity
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
out = snakemake.output
frames = read_frames(snakemake.input.dataset)
units = read_results(snakemake.input.coulomb)
test = [k for k, a in enumerate(frames) if a.info["split"] == "test"]
train = [frames[k] for k, a in enumerate(frames) if a.info["split"] == "train"]
test_frames, test_units = [frames[k] for k in test], [units[k] for k in test]

variants = {"empirical potential": empirical_predictions(test_frames, train)}
charges = {}
for path in snakemake.input.models:
    model = NNPotential.load(path)
    name = Path(path).stem
    variants[name] = predictions(model, test_frames, test_units)
    charges[name] = model.charge
tables = [evaluate_variant(name, test_frames, predicted) for name, predicted in variants.items()]
metrics = pd.concat(tables, ignore_index=True)
metrics["q"] = metrics.variant.map(charges)
with atomic_path(out.metrics) as tmp:
    metrics.to_csv(tmp, index=False, float_format="%.6g")
log.info("test-split metrics (%d structures):\n%s", len(test_frames),
         metrics[metrics.group == "all"].to_string())

plot_parity(test_frames, variants, out.parity)
grid = metrics[(metrics.group == "all") & metrics.variant.str.startswith("finetune_q")
               & (metrics.variant != "finetune_qeff")].sort_values("q")
plot_error_vs_q(grid, pd.read_csv(snakemake.input.scan), charges.get("finetune_qeff"), out.error_vs_q)
