"""Rules coulomb, pretrain_coulomb: Ewald energy, per-atom energies, forces and stress of every
structure at unit charges (cation +1, anion −1), stored with the chemistry."""

import _ionnp_path  # noqa: F401

from ionnp.charges.coulomb import coulomb, write_results
from ionnp.chemistry import Chemistry
from ionnp.frames import iter_frames
from ionnp.logs import log_to_file
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
chemistry = Chemistry.from_charges(snakemake.params.charges)
results = [coulomb(atoms, chemistry.unit_charges(atoms)) for atoms in iter_frames(snakemake.input.frames)]
write_results(snakemake.output.coulomb, results, metadata={"chemistry": chemistry.to_dict()})
log.info("unit-charge Coulomb of %d structures (%s)", len(results), chemistry)
