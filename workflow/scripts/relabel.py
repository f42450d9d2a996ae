"""Rule relabel: pw.x for every structure of one shard, reusing finished results."""

import json
from pathlib import Path

import _ionnp_path  # noqa: F401

from ionnp.dft.pw import DftSettings, label_or_retry, Launch
from ionnp.frames import read_frames, write_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
settings = DftSettings.from_config(snakemake.params.dft, snakemake.input.pseudo)
launch = Launch.from_config(snakemake.params.dft, snakemake.resources.tasks)
log.info("pw.x launch: %s; settings %s", launch.template, settings)
labelled, summary = label_or_retry(read_frames(snakemake.input.shard), settings,
                                   Path(snakemake.params.workdir), launch)
write_frames(snakemake.output.frames, labelled)
with atomic_path(snakemake.output.status) as tmp:
    tmp.write_text(json.dumps(summary, indent=1, default=str))
log.info("shard done: %s", summary["counts"])
