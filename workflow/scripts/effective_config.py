"""Rule effective_config: the campaign's validated config to results/config.yaml
(ionnp.config.write_config)."""

import _ionnp_path  # noqa: F401

from ionnp.config import write_config
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
write_config(snakemake.params.config, snakemake.output[0])
log.info("effective config written to %s", snakemake.output[0])
