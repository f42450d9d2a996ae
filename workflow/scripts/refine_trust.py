"""Rule refine_trust: the one-shot model's spread against its error on the test split and the
unseen-loading cells, and the rounds' trust levels from it unless configured
(ionnp.refine.select.trust_levels)."""

import json
from dataclasses import asdict

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.charges.coulomb import read_results
from ionnp.dft.dataset import remove_pulay_stress
from ionnp.evaluate.loading import spread_and_error
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.potential import NNPotential
from ionnp.refine.select import trust_levels

log = log_to_file(snakemake.log[0])
params, inputs = snakemake.params, snakemake.input
dataset, units = read_frames(inputs.dataset), read_results(inputs.coulomb)
test = [k for k, a in enumerate(dataset) if a.info["split"] == "test"]
cells = [atoms for path in inputs.loading for atoms in read_frames(path)]
remove_pulay_stress(cells, json.loads(open(inputs.stress_check).read())["pulay_pressure_gpa"])
model = NNPotential.load(inputs.model)
calibration = pd.concat([
    spread_and_error([dataset[k] for k in test],
                     model.predict_many([dataset[k] for k in test], coulomb_units=[units[k] for k in test])
                     ).assign(set="test"),
    spread_and_error(cells, model.predict_many(cells)).assign(set="loading")], ignore_index=True)
with atomic_path(snakemake.output.calibration) as tmp:
    calibration.to_csv(tmp, index=False, float_format="%.6g")
trust = trust_levels(calibration, low=params.low, high=params.high, max_error_mev_per_atom=params.max_error)
with atomic_path(snakemake.output.trust) as tmp:
    tmp.write_text(json.dumps(asdict(trust), indent=1))
log.info("trust levels: %.3g and %.3g meV/atom (%s)", trust.low, trust.high, trust.source)
