"""Rule describe: structure features of every pool frame (ionnp.distill.features.structure_features)."""

import _ionnp_path  # noqa: F401
import numpy as np

from ionnp.distill.features import structure_features
from ionnp.frames import iter_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.descriptors import DescriptorSettings
from ionnp.runtime import configure_torch

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
settings = DescriptorSettings.from_config(snakemake.params.descriptors)
features = structure_features(iter_frames(snakemake.input.pool), settings, snakemake.params.elements)
with atomic_path(snakemake.output.features) as tmp:
    with open(tmp, "wb") as handle:
        np.save(handle, features)
log.info("features of %d frames: %d columns", *features.shape)
