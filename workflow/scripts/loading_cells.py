"""Rule loading_cells: one phase's strained, relaxed and rattled cells with their empirical
labels (ionnp.evaluate.loading)."""

import _ionnp_path  # noqa: F401
import ase.io
from ase.units import GPa

from ionnp.evaluate.loading import loading_cells, paths_from_config
from ionnp.frames import write_frames
from ionnp.logs import log_to_file
from ionnp.potential import RigidIonPotential
from ionnp.prototypes.structures import repeat

log = log_to_file(snakemake.log[0])
settings = snakemake.params.loading
potential = RigidIonPotential.from_config(snakemake.params.potential)
start = repeat(ase.io.read(snakemake.input.start), settings["supercell"], potential.chemistry)
paths = paths_from_config(settings["paths"])
cells = loading_cells(start, snakemake.wildcards.phase, paths, settings["strains"], potential,
                      rattle=settings["rattle"], seed=snakemake.params.seed)
for atoms in cells:
    log.info("%s: %d atoms, empirical stress %s GPa", atoms.info["structure_id"], len(atoms),
             (atoms.get_stress() / GPa).round(2).tolist())
write_frames(snakemake.output.cells, cells)
