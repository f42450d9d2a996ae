"""Rule charge_scan_plot: the scan against q, with the chosen q, the L/T charge and the
reference charges."""

import json
import math

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.logs import log_to_file
from ionnp.plots import plot_charge_scan

log_to_file(snakemake.log[0])
params = snakemake.params
table = pd.read_csv(snakemake.input.table)
q_eff = json.loads(open(snakemake.input.q_eff).read())["q_eff"]
lt = json.loads(open(snakemake.input.lt).read())
eps_inf = params.epsilon_inf
plot_charge_scan(table, q_eff, {"2/ε∞": 2 / eps_inf, "2/√ε∞": 2 / math.sqrt(eps_inf),
                                "Bader": params.bader_charge}, snakemake.output.plot,
                 q_lt=(lt["q"], lt["q_error"]))
