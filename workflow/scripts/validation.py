"""Rule validation: every acceptance criterion of the campaign, measured, passed or failed
(ionnp.evaluate.validation): results/evaluate/validation.json and results/evaluate/validation.md."""

import json

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.evaluate.validation import Limits, all_criteria, markdown, write_json
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
inputs, out = snakemake.input, snakemake.output
criteria = all_criteria(pd.read_csv(inputs.metrics), pd.read_csv(inputs.fits), pd.read_csv(inputs.transitions),
                        json.loads(open(inputs.md_summary).read()), pd.read_csv(inputs.nve),
                        pd.read_csv(inputs.split), snakemake.params.max_spread,
                        json.loads(open(inputs.q_eff).read()), pd.read_csv(inputs.lt_models),
                        snakemake.params.amplitude, json.loads(open(inputs.stress_check).read()),
                        pd.read_csv(inputs.loading),
                        Limits.from_config(snakemake.params.criteria, snakemake.params.transition_phase),
                        final=snakemake.params.final)
write_json(criteria, out.json)
report = markdown(criteria, "Validation of the campaign's final potential")
report += ("\nFigures: results/evaluate/parity.png, results/evaluate/error_vs_q.png, results/eos/eos.png, "
           "results/md/md.png, results/charges/lt.png, results/charges/scan.png, "
           "results/evaluate/lt_models.png, results/loading/stress_strain.png, results/loading/calibration.png.\n")
with atomic_path(out.markdown) as tmp:
    tmp.write_text(report)
log.info("%s", report)
