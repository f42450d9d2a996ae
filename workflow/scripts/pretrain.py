"""Rule pretrain: A-Train an ensemble at charge q on the empirical potential's residual at q,
y_Buck + (z² − q²) y_C(1) (ionnp.train)."""

import json
from dataclasses import replace

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.charges.coulomb import read_results
from ionnp.chemistry import Chemistry
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.short_range import ModelSettings
from ionnp.plots import plot_learning_curves
from ionnp.runtime import configure_torch, training_device
from ionnp.train.checkpoints import remove_checkpoints
from ionnp.train.ensemble import train_ensemble
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import coulomb_factor, pretrain_samples, split

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
params, out, w = snakemake.params, snakemake.output, snakemake.wildcards
q = json.loads(open(snakemake.input.q_eff).read())["q_eff"] if w.q == "eff" else float(w.q)
chemistry = Chemistry.from_charges(params.charges)
factor = coulomb_factor(q, chemistry.reference_charge)
model_settings = ModelSettings.from_config(params.model)
settings = replace(TrainingSettings.from_config(params.training), seed=params.seed)
samples = pretrain_samples(read_frames(snakemake.input.frames), chemistry.elements,
                           model_settings.descriptors.cutoff,
                           coulomb_units=read_results(snakemake.input.coulomb), factor=factor)
train_idx, valid_idx = split(len(samples), settings.valid_fraction, settings.seed)
log.info("A-Train at q = %.4f e on %d structures (%d for validation): Buckingham + %.4f E_C(1)",
         q, len(samples), len(valid_idx), factor)
# The pretrained model with q² E_C(1) added back is the empirical potential.
potential, histories = train_ensemble(
    chemistry.elements, model_settings, settings, [samples[i] for i in train_idx],
    [samples[i] for i in valid_idx], charge=q, unit_charges=chemistry.unit_charge,
    checkpoint_dir=params.checkpoints, device=training_device(snakemake.config["train"]["device"]))
potential.save(out.model, metadata={"stage": "pretrain", "q": q, "n_structures": len(samples),
                                    "chemistry": chemistry.to_dict()})
remove_checkpoints(params.checkpoints)  # the model is saved: no stale state stays behind
with atomic_path(out.history) as tmp:
    pd.concat(histories).to_csv(tmp, index=False)
plot_learning_curves(histories, out.curve, f"A-Train at q = {q:.3f} e (empirical residual)")
