"""Rule lt_dft: pw.x on the frozen-modulation cells (L and T), reusing finished results."""

import dataclasses
import json
from pathlib import Path

import _ionnp_path  # noqa: F401

from ionnp.charges.modulation import ModulationSettings, lattice_constant, modulation_cells
from ionnp.chemistry import Chemistry, formula_units
from ionnp.dft.pw import DftSettings, label_shard, Launch, status_summary, unfinished
from ionnp.evaluate.eos import fit_birch_murnaghan
from ionnp.frames import read_frames, write_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
params = snakemake.params
settings = DftSettings.from_config(params.dft, snakemake.input.pseudo)
launch = Launch.from_config(params.dft, snakemake.resources.tasks)
modulation = ModulationSettings.from_config(params.lt)
eos = read_frames(snakemake.input.eos)
fit = fit_birch_murnaghan([c.get_volume() / formula_units(c) for c in eos],
                          [c.get_potential_energy() / formula_units(c) for c in eos])
a = lattice_constant(fit.v0)
cells = modulation_cells(a, Chemistry.from_charges(params.charges), modulation)
log.info("%d L/T cells, zinc blende a = %.4f Å (DFT V0 = %.3f Å³/f.u. of %s); pw.x launch: %s",
         len(cells), a, fit.v0, params.volume_phase, launch.template)
labelled, results = [], []
for kspacing in modulation.kspacings:
    at_k = [c for c in cells if c.info["lt_kspacing"] == kspacing]
    frames, outcome = label_shard(at_k, dataclasses.replace(settings, kspacing=kspacing),
                                  Path(params.workdir), launch,
                                  kpoints=[c.info["lt_kpoints"].tolist() for c in at_k])
    labelled += frames
    results += outcome
retry = unfinished(results, settings.max_attempts)
if retry:
    raise RuntimeError(f"{len(retry)} L/T structures to retry (finished ones are kept in "
                       f"{params.workdir}): " + ", ".join(r.structure_id for r in retry))
write_frames(snakemake.output.frames, labelled)
summary = status_summary(results)
summary.update(settings=settings.record(), launch=launch.template, lattice_constant=a,
               volume_phase=params.volume_phase)
with atomic_path(snakemake.output.status) as tmp:
    tmp.write_text(json.dumps(summary, indent=1, default=str))
log.info("L/T DFT done: %s", summary["counts"])
