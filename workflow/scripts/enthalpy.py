"""Rule enthalpy: table and plot of enthalpy against pressure for every relaxed prototype."""

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.plots import plot_enthalpy
from ionnp.prototypes.polymorphs import enthalpy_table

log = log_to_file(snakemake.log[0])
table = enthalpy_table(ase.io.read(path) for path in snakemake.input.structures)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.8f")
plot_enthalpy(table, snakemake.output.plot)
log.info("enthalpy of %d structures:\n%s", len(table), table.to_string())
