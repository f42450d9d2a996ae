"""Rule refine_train: round r's model, fine-tuned from round r − 1's on the campaign's DFT data
and every round's so far (each round's structures split train/valid, the test split untouched),
at the previous model's charge; the previous model itself when no round added anything."""

import json
from dataclasses import replace

import _ionnp_path  # noqa: F401
import pandas as pd

from ionnp.charges.coulomb import coulomb, read_results
from ionnp.chemistry import Chemistry
from ionnp.dft.dataset import remove_pulay_stress
from ionnp.frames import read_frames
from ionnp.io import atomic_path
from ionnp.logs import log_to_file
from ionnp.nnp.potential import NNPotential, check_model_file
from ionnp.plots import plot_learning_curves
from ionnp.runtime import configure_torch, training_device
from ionnp.train.checkpoints import remove_checkpoints
from ionnp.train.ensemble import train_ensemble
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import finetune_samples, split

log = log_to_file(snakemake.log[0])
configure_torch(snakemake.threads)
params, out, r = snakemake.params, snakemake.output, int(snakemake.wildcards.r)
chemistry = Chemistry.from_charges(params.charges)
check_model_file(snakemake.input.model, chemistry)
previous = NNPotential.load(snakemake.input.model)
check = json.loads(open(snakemake.input.stress_check).read())

frames, units = read_frames(snakemake.input.dataset), read_results(snakemake.input.coulomb)
added = []
for k, path in enumerate(snakemake.input.rounds, start=1):
    round_frames = read_frames(path)
    remove_pulay_stress(round_frames, check["pulay_pressure_gpa"])
    valid = set(split(len(round_frames), params.valid_fraction, params.seed + k)[1].tolist())
    for i, atoms in enumerate(round_frames):
        atoms.info["split"] = "valid" if i in valid else "train"
    added += round_frames
this_round = len(read_frames(snakemake.input.rounds[-1]))
log.info("round %d: %d campaign structures, %d from rounds 1..%d (%d new)", r, len(frames), len(added), r, this_round)

if this_round == 0:
    log.info("round %d added no structure: its model is round %d's", r, r - 1)
    previous.save(out.model, metadata={"stage": "refine", "round": r, "q": previous.charge,
                                       "chemistry": chemistry.to_dict(), "unchanged_from": snakemake.input.model})
    histories = []
else:
    frames += added
    units += [coulomb(atoms, chemistry.unit_charges(atoms)) for atoms in added]
    settings = replace(TrainingSettings.from_config(params.training, finetune=True), seed=params.seed + r)
    if settings.stress_weight > 0 and not check["usable"]:
        log.warning("stress left out: the DFT stress contradicts the DFT energies (results/dft/stress_check.json)")
        settings = replace(settings, stress_weight=0.0)
    samples = finetune_samples(frames, units, previous.charge, chemistry.elements,
                               previous.settings.descriptors.cutoff)
    splits = [a.info["split"] for a in frames]
    train_set = [s for s, name in zip(samples, splits) if name == "train"]
    valid_set = [s for s, name in zip(samples, splits) if name == "valid"]
    log.info("fine-tuning from %s at q = %.4f e: %d train, %d valid structures", snakemake.input.model,
             previous.charge, len(train_set), len(valid_set))
    potential, histories = train_ensemble(chemistry.elements, previous.settings, settings, train_set, valid_set,
                                          pretrained=previous, charge=previous.charge,
                                          unit_charges=chemistry.unit_charge, checkpoint_dir=params.checkpoints,
                                          device=training_device(snakemake.config["train"]["device"]))
    potential.save(out.model, metadata={"stage": "refine", "round": r, "q": previous.charge,
                                        "chemistry": chemistry.to_dict(), "structures_added": len(added)})
    remove_checkpoints(params.checkpoints)
with atomic_path(out.history) as tmp:
    (pd.concat(histories) if histories else pd.DataFrame(columns=["member", "epoch"])).to_csv(tmp, index=False)
plot_learning_curves(histories, out.curve, f"refinement round {r} at q = {previous.charge:.3f} e")
