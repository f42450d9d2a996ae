"""Rule transition_report: transition pressures and hysteresis of both ramps, and the figure."""

from pathlib import Path

import _ionnp_path  # noqa: F401
import ase.io
import pandas as pd

from ionnp.chemistry import Chemistry
from ionnp.evaluate.eos import fits_of
from ionnp.evaluate.transition import transition_table
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.plots import plot_transition
from ionnp.sampling.coordination import coordination_number

log = log_to_file(snakemake.log[0])
chemistry = Chemistry.from_charges(snakemake.params.charges)
traces = {Path(path).name.split("_")[0]: pd.read_csv(path) for path in snakemake.input.traces}
ground, high = snakemake.params.ground_state, snakemake.params.high_pressure
cv_high = coordination_number(ase.io.read(snakemake.input.high_pressure), chemistry.cations, chemistry.anions,
                              snakemake.params.cv_r0)
eos = pd.read_csv(snakemake.input.transitions)
dft = eos[(eos.method == "DFT") & (eos.phase == high) & (eos.start == ground)]
dft_gpa = float(dft.pressure_gpa.iloc[0]) if len(dft) and pd.notna(dft.pressure_gpa.iloc[0]) else None
fits = fits_of(pd.read_csv(snakemake.input.fits))
methods = {"nnp": "NNP", "empirical": "empirical"}  # potential → its rows in the EOS table
references = {name: (fits[methods[name], ground], fits[methods[name], high].v0) for name in traces}
table = transition_table(traces, references, dft_gpa)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.4g")
plot_transition(traces, table, ground, high, cv_high, dft_gpa, snakemake.output.plot)
log.info("%s CV %.3f; DFT EOS transition %s GPa\n%s", high, cv_high, dft_gpa, table.to_string())
