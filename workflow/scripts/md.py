"""Rule md: NVE energy drift and a compression run with the final model (ionnp.evaluate.md)."""

import json

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.chemistry import Chemistry
from ionnp.evaluate.md import md_campaign
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.plots import plot_md
from ionnp.runtime import configure_torch
from ionnp.prototypes.structures import repeat

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
md, out = snakemake.params.md, snakemake.output
chemistry = Chemistry.from_charges(snakemake.params.charges)
start = repeat(ase.io.read(snakemake.input.start), md["supercell"], chemistry)
nve, squeeze, summary = md_campaign(start, snakemake.input.model, md, snakemake.params.seed,
                                     snakemake.params.cv_r0, chemistry)
for table, path in ((nve, out.nve), (squeeze, out.compression)):
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
with atomic_path(out.summary) as tmp:
    tmp.write_text(json.dumps(summary, indent=1))

plot_md(nve, squeeze, summary["nve_drift_mev_per_atom_per_ps"], md["max_spread_mev_per_atom"], out.plot)
log.info("%s", summary)
