"""Rule lt_dft: pw.x on the frozen-modulation cells (L and T), reusing finished results."""

import json

import _ionnp_path  # noqa: F401

from ionnp.charges.modulation import ModulationSettings, PolarCrystal, label_modulations, modulation_cells
from ionnp.chemistry import Chemistry
from ionnp.dft.pw import DftSettings, Launch
from ionnp.evaluate.eos import equilibrium_volume
from ionnp.frames import read_frames, write_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
params = snakemake.params
settings = DftSettings.from_config(params.dft, snakemake.input.pseudo)
launch = Launch.from_config(params.dft, snakemake.resources.tasks)
modulation = ModulationSettings.from_config(params.lt)
v0 = equilibrium_volume(read_frames(snakemake.input.eos))
crystal = PolarCrystal.from_structure(params.structure, Chemistry.from_charges(params.charges))
a = crystal.lattice_constant(v0)
cells = modulation_cells(crystal, a, modulation)
log.info("%d L/T cells, %s a = %.4f Å (DFT V0 = %.3f Å³/f.u. of %s); pw.x launch: %s",
         len(cells), params.phase, a, v0, params.volume_phase, launch.template)
labelled, summary = label_modulations(cells, settings, params.workdir, launch)
write_frames(snakemake.output.frames, labelled)
summary.update(lattice_constant=a, volume_phase=params.volume_phase)
with atomic_path(snakemake.output.status) as tmp:
    tmp.write_text(json.dumps(summary, indent=1, default=str))
log.info("L/T DFT done: %s", summary["counts"])
