"""Rule loading: every model's errors on the unseen-loading cells, the stress-strain curves, and
the final model's spread against its true error on the test split and the loading cells."""

import json
from pathlib import Path

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.charges.coulomb import read_results
from ionnp.dft.dataset import remove_pulay_stress
from ionnp.evaluate.errors import empirical_predictions
from ionnp.evaluate.loading import (loading_errors, paths_from_config, rank_correlations,
                                    spread_and_error, stress_strain_table)
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.potential import NNPotential
from ionnp.plots import plot_calibration, plot_stress_strain
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
out = snakemake.output
cells = [atoms for path in snakemake.input.dft for atoms in read_frames(path)]
remove_pulay_stress(cells, json.loads(open(snakemake.input.stress_check).read())["pulay_pressure_gpa"])
dataset = read_frames(snakemake.input.dataset)
units = read_results(snakemake.input.coulomb)
train = [a for a in dataset if a.info["split"] == "train"]
test = [k for k, a in enumerate(dataset) if a.info["split"] == "test"]
log.info("%d loading cells, %d test structures", len(cells), len(test))

variants, calibration = {"empirical potential": empirical_predictions(cells, train)}, []
for path in snakemake.input.models:
    model = NNPotential.load(path)
    predicted = model.predict_many(cells)
    name = Path(path).stem
    variants[name] = ([p.energy for p in predicted], [p.forces for p in predicted],
                                 [p.stress for p in predicted])
    if name in snakemake.params.calibrated:
        test_predicted = model.predict_many([dataset[k] for k in test],
                                            coulomb_units=[units[k] for k in test])
        calibration += [spread_and_error([dataset[k] for k in test], test_predicted).assign(model=name, set="test"),
                        spread_and_error(cells, predicted).assign(
                            model=name, set="loading", path=[f"{a.info['phase']} {a.info['loading_path']}" for a in cells])]

metrics = loading_errors(cells, variants)
with atomic_path(out.metrics) as tmp:
    metrics.to_csv(tmp, index=False, float_format="%.6g")
log.info("loading errors:\n%s", metrics[metrics.group == "all"].to_string())

curves = stress_strain_table(cells, variants, paths_from_config(snakemake.params.paths))
with atomic_path(out.curves) as tmp:
    curves.to_csv(tmp, index=False, float_format="%.6g")
plot_stress_strain(curves, out.stress_strain)

spread = pd.concat(calibration, ignore_index=True)
with atomic_path(out.calibration) as tmp:
    spread.to_csv(tmp, index=False, float_format="%.6g")
correlations = pd.concat([rank_correlations(rows).assign(model=name) for name, rows in spread.groupby("model", sort=False)],
                         ignore_index=True)
with atomic_path(out.correlations) as tmp:
    correlations.to_csv(tmp, index=False, float_format="%.6g")
log.info("spread against error:\n%s", correlations.to_string())
plot_calibration(spread, out.calibration_plot)
