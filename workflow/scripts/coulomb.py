"""Rule coulomb: Ewald energy, forces and stress of every DFT structure at charges ±1."""

import _ionnp_path  # noqa: F401


from ionnp.coulomb import coulomb, unit_charges, write_results
from ionnp.frames import iter_frames
from ionnp.logs import log_to_file
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
results = [coulomb(atoms, unit_charges(atoms)) for atoms in iter_frames(snakemake.input.dataset)]
write_results(snakemake.output.coulomb, results)
log.info("unit-charge Coulomb of %d structures", len(results))
