"""Rule pretrain: A-Train an ensemble on the empirical short-range labels (ionnp.training)."""

import _ionnp_path  # noqa: F401

from dataclasses import replace

import pandas as pd

from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.runtime import configure_torch
from ionnp.model import ModelSettings
from ionnp.plots import plot_learning_curves
from ionnp.training import TrainingSettings, remove_checkpoints, pretrain_samples, split, train_ensemble

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
params, out = snakemake.params, snakemake.output
elements = sorted(params.charges, key=lambda element: -params.charges[element])  # cation first
model_settings = ModelSettings.from_config(params.model)
settings = replace(TrainingSettings.from_config(params.training), seed=params.seed)
samples = pretrain_samples(read_frames(snakemake.input.frames), elements,
                           model_settings.descriptors.cutoff)
train_idx, valid_idx = split(len(samples), settings.valid_fraction, settings.seed)
log.info("A-Train on %d structures (%d for validation)", len(samples), len(valid_idx))
# The pretrained model with the formal charges added back is the empirical potential.
potential, histories = train_ensemble(
    elements, model_settings, settings, [samples[i] for i in train_idx],
    [samples[i] for i in valid_idx], charge=float(params.charges[elements[0]]),
    checkpoint_dir=params.checkpoints)
potential.save(out.model, metadata={"stage": "pretrain", "n_structures": len(samples)})
remove_checkpoints(params.checkpoints)  # the model is saved: no stale state stays behind
with atomic_path(out.history) as tmp:
    pd.concat(histories).to_csv(tmp, index=False)
plot_learning_curves(histories, out.curve, "A-Train (empirical short-range labels)")
