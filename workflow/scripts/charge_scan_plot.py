"""Rule charge_scan_plot: the scan against q, with the chosen q, the L/T and DFPT charges and
the reference charges (2/ε∞ and 2/√ε∞ with ε∞ from DFPT and from config, the Bader charge)."""

import json
import math

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.logs import log_to_file
from ionnp.plots import plot_charge_scan

log_to_file(snakemake.log[0])
params = snakemake.params
table = pd.read_csv(snakemake.input.table)
chosen = json.loads(open(snakemake.input.q_eff).read())
found = chosen["estimators"]
eps_dfpt, eps_config = found["dfpt"]["epsilon_inf"], params.epsilon_inf
markers = {f"2/√ε∞ (DFPT {eps_dfpt:.2f})": 2 / math.sqrt(eps_dfpt),
           f"2/√ε∞ (config {eps_config:g})": 2 / math.sqrt(eps_config),
           f"2/ε∞ (config {eps_config:g})": 2 / eps_config, "Bader": params.bader_charge}
def band(estimate):
    """(q, low, high) of an estimator (e); NaN ends where its uncertainty is not assessed."""
    error = estimate["q_error"] if estimate["q_error"] is not None else float("nan")
    return (estimate["q"], estimate.get("low", estimate["q"] - error),
            estimate.get("high", estimate["q"] + error))


bands = {name: band(found[key]) for name, key in (("q_L/T", "lt"), ("q_DFPT", "dfpt"),
                                                  ("learnability", "learnability"))}
plot_charge_scan(table, chosen["q_eff"], markers, snakemake.output.plot, bands)
