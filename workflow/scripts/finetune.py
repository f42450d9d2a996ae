"""Rule finetune: train on DFT residuals y_DFT − q² y_C(1), from A-Train weights or scratch."""

import json
from dataclasses import replace

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.charges.coulomb import check_coulomb_file, read_results
from ionnp.chemistry import Chemistry
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.potential import NNPotential, check_model_file
from ionnp.nnp.short_range import ModelSettings
from ionnp.plots import plot_learning_curves
from ionnp.runtime import configure_torch, training_device
from ionnp.train.checkpoints import remove_checkpoints
from ionnp.train.ensemble import train_ensemble
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import finetune_samples

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
params, out, w = snakemake.params, snakemake.output, snakemake.wildcards
q = json.loads(open(snakemake.input.q_eff).read())["q_eff"] if w.q == "eff" else float(w.q)
pretrained = NNPotential.load(snakemake.input.pretrained) if w.start == "finetune" else None
model_settings = pretrained.settings if pretrained else ModelSettings.from_config(params.model)
settings = replace(TrainingSettings.from_config(params.training, finetune=True), seed=params.seed)
check = json.loads(open(snakemake.input.stress_check).read())
if settings.stress_weight > 0 and not check["usable"]:
    log.warning("stress left out of fine-tuning: the DFT stress contradicts the DFT energies by "
                "up to %.2f GPa after the Pulay correction (results/dft/stress_check.json; limit "
                "dft.max_stress_offset_gpa = %g GPa): raise dft.ecutwfc", check["max_abs_residual_gpa"],
                check["threshold_gpa"])
    settings = replace(settings, stress_weight=0.0)
frames = read_frames(snakemake.input.dataset)
units = read_results(snakemake.input.coulomb)
chemistry = Chemistry.from_charges(params.charges)
check_coulomb_file(snakemake.input.coulomb, chemistry)
if pretrained:
    check_model_file(snakemake.input.pretrained, chemistry)
elements = chemistry.elements
samples = finetune_samples(frames, units, q, elements, model_settings.descriptors.cutoff)
splits = [a.info["split"] for a in frames]
train_set = [s for s, name in zip(samples, splits) if name == "train"]
valid_set = [s for s, name in zip(samples, splits) if name == "valid"]
log.info("%s at q = %.4f e: %d train, %d valid structures", w.start, q, len(train_set), len(valid_set))
potential, histories = train_ensemble(elements, model_settings, settings, train_set, valid_set,
                                      pretrained=pretrained, charge=q, unit_charges=chemistry.unit_charge,
                                      checkpoint_dir=params.checkpoints,
                                      device=training_device(snakemake.config["train"]["device"]))
potential.save(out.model, metadata={"stage": w.start, "q": q, "chemistry": chemistry.to_dict()})
remove_checkpoints(params.checkpoints)  # the model is saved: no stale state stays behind
with atomic_path(out.history) as tmp:
    pd.concat(histories).to_csv(tmp, index=False)
plot_learning_curves(histories, out.curve, f"{w.start} at q = {q:.3f} e (DFT residuals)")
