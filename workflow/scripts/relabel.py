"""Rule relabel: pw.x for every structure of one shard, reusing finished results."""

import _ionnp_path  # noqa: F401

import json
import os
from pathlib import Path

from ionnp.dft import DftSettings, label_shard, launch_command, status_summary, unfinished
from ionnp.frames import read_frames, write_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
config = snakemake.params.dft
pseudo = {Path(p).stem: Path(p).name for p in snakemake.input.pseudo}
settings = DftSettings(
    pseudopotentials=pseudo,
    pseudo_dir=str(Path(snakemake.input.pseudo[0]).resolve().parent),
    **{k: config[k] for k in ("ecutwfc", "ecutrho", "kspacing", "smearing", "degauss",
                              "conv_thr_per_atom", "mixing_beta", "electron_maxstep", "max_attempts")},
)
launcher = config["launcher"]
if launcher == "auto":
    launcher = "srun" if "SLURM_JOB_ID" in os.environ else ("mpirun" if snakemake.threads > 1 else "serial")
command = launch_command(launcher, snakemake.resources.tasks)
log.info("pw.x launch: %s; settings %s", command, settings)
labelled, results = label_shard(read_frames(snakemake.input.shard), settings,
                                Path(snakemake.params.workdir), command)
retry = unfinished(results, settings.max_attempts)
if retry:
    raise RuntimeError(
        f"{len(retry)} structures to retry (finished ones are kept in {snakemake.params.workdir} "
        "and reused when this shard runs again):\n"
        + "\n".join(f"  {r.structure_id}: {r.status} ({r.reason[:200]})" for r in retry))
summary = status_summary(results)
summary.update(settings={k: v for k, v in vars(settings).items()}, launch=command)
write_frames(snakemake.output.frames, labelled)
with atomic_path(snakemake.output.status) as tmp:
    tmp.write_text(json.dumps(summary, indent=1, default=str))
log.info("shard done: %s", summary["counts"])
