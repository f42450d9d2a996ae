"""Rule deploy: export the final model with the campaign's provenance (ionnp.deploy.export) and
write the LAMMPS lines that run it (ionnp.deploy.lammps_input)."""

import _ionnp_path  # noqa: F401
from ase.io import read

from ionnp.deploy.export import campaign_provenance, export_model
from ionnp.deploy.lammps_input import PLUGIN_NAME, input_lines
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
inputs, out = snakemake.input, snakemake.output
frames = [a for a in read(inputs.dataset, index=":") if a.info.get("split") == "train"]
provenance = campaign_provenance(snakemake.config, frames, inputs.validation)
meta = export_model(inputs.model, out.model, provenance=provenance)
# The plugin's path differs between machines: the lines name it by its file name.
lines = input_lines(out.model, plugin=PLUGIN_NAME)
with atomic_path(out.lammps) as tmp:
    tmp.write_text("# pair_style ionnp: replace ionnp.so by the plugin's path "
                   "(`ionnp lammps-input` prints this machine's)\n" + "\n".join(lines) + "\n")
log.info("%s: %s, q = %s e, trained on %s", out.model, meta["elements"], meta["charge"],
         provenance["training_set"])
