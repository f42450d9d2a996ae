"""Rule eos_dft: pw.x at a few volumes of one polymorph, reusing finished results."""

import json
from pathlib import Path

import _ionnp_path  # noqa: F401
import ase.io

from ionnp.dft.pw import DftSettings, label_or_retry, Launch
from ionnp.evaluate.eos import scaled_cells
from ionnp.frames import write_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
phase = snakemake.wildcards.phase
settings = DftSettings.from_config(snakemake.params.dft, snakemake.input.pseudo)
launch = Launch.from_config(snakemake.params.dft, snakemake.resources.tasks)
cells = scaled_cells(ase.io.read(snakemake.input.start), snakemake.params.volume_scales)
for cell in cells:
    cell.info.update(phase=phase, structure_id=f"eos_{phase}_v{cell.info['volume_scale']:.4f}")
log.info("%s: %d volumes; pw.x launch: %s", phase, len(cells), launch.template)
labelled, summary = label_or_retry(cells, settings, Path(snakemake.params.workdir), launch)
write_frames(snakemake.output.frames, labelled)
with atomic_path(snakemake.output.status) as tmp:
    tmp.write_text(json.dumps(summary, indent=1, default=str))
log.info("%s done: %s", phase, summary["counts"])
