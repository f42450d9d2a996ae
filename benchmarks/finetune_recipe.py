"""Which fine-tuning recipe? Learning rate × frozen layers, measured on a campaign's DFT data.

    python benchmarks/finetune_recipe.py [--campaign validation] [--config config/validation.yaml]
                                         [--q 1] [--learning-rates 1e-4 3e-4 1e-3 3e-3]
                                         [--epochs N]

Reads a campaign whose DFT data and A-Train exist (``results/dft/dataset.db`` with its split,
``results/charges/coulomb_q1.npz``, ``models/pretrain_q{q}.pt``; the config as the campaign ran
it, merged over config/config.yaml) and fine-tunes one ensemble member (member 0, one thread) per
recipe: each learning rate of ``--learning-rates``, with the layers frozen as configured and with
every layer trainable; everything else (epochs unless ``--epochs``, early stopping, loss
weights, batch size, the ReduceLROnPlateau schedule) as ``training.finetune`` says.

Prints per recipe the validation-split RMSEs at its best epoch (the weights the workflow keeps),
the training RMSEs of that epoch, the best and last epochs, and the validation RMSEs as ratios
against the configured recipe, measured in the same run. The test split is not looked at: a
recipe chosen on it would make the reported test errors optimistic.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from ionnp.charges.coulomb import read_results
from ionnp.config import load_config
from ionnp.frames import read_frames
from ionnp.nnp.potential import NNPotential
from ionnp.train.ensemble import train_ensemble
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import finetune_samples

METRICS = ("energy_rmse_mev_atom", "forces_rmse_mev_a", "stress_rmse_gpa")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", type=Path, default=Path("validation"))
    parser.add_argument("--config", nargs="*", default=["config/validation.yaml"],
                        help="the campaign's config files, merged over config/config.yaml")
    parser.add_argument("--q", type=float, default=None,
                        help="charge (e); default q_eff of results/charges/q_eff.json, else 1")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3, 3e-3])
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)

    config = load_config("config/config.yaml", *args.config)
    configured = TrainingSettings.from_config(config["training"]["finetune"], finetune=True)
    if args.epochs is not None:
        configured = replace(configured, epochs=args.epochs)
    q_file = args.campaign / "results/charges/q_eff.json"
    q = args.q if args.q is not None else (json.loads(q_file.read_text())["q_eff"] if q_file.exists() else 1.0)
    pretrained = NNPotential.load(args.campaign / f"models/pretrain_q{q:g}.pt")
    model_settings = replace(pretrained.settings, ensemble_size=1)
    frames = read_frames(args.campaign / "results/dft/dataset.db")
    units = read_results(args.campaign / "results/charges/coulomb_q1.npz")
    split = [a.info["split"] for a in frames]
    samples = finetune_samples(frames, units, q, list(pretrained.elements), model_settings.descriptors.cutoff)
    train_set = [s for s, name in zip(samples, split) if name == "train"]
    valid_set = [s for s, name in zip(samples, split) if name == "valid"]
    print(f"q = {q:g} e; {len(train_set)} train, {len(valid_set)} valid structures; up to "
          f"{configured.epochs} epochs (early stopping {configured.early_stopping}); configured: "
          f"lr {configured.learning_rate:g}, freeze {list(configured.freeze)}", flush=True)

    recipes = [(lr, freeze) for freeze in (configured.freeze, ()) for lr in args.learning_rates]
    if (configured.learning_rate, configured.freeze) not in recipes:
        recipes.insert(0, (configured.learning_rate, configured.freeze))
    rows = []
    for lr, freeze in recipes:
        settings = replace(configured, learning_rate=lr, freeze=freeze)
        begin = time.perf_counter()
        _, (history,) = train_ensemble(list(pretrained.elements), model_settings, settings, train_set,
                                       valid_set, pretrained=pretrained, charge=q,
                                       charge_signs=pretrained.charge_signs)
        best = history.loc[history.valid_loss.idxmin()]
        row = {"lr": lr, "frozen": ",".join(map(str, freeze)) or "none"}
        row |= {f"valid_{m}": best[f"valid_{m}"] for m in METRICS}
        row |= {f"train_{m}": best[f"train_{m}"] for m in METRICS}
        row |= {"best_epoch": int(best.epoch), "last_epoch": int(history.epoch.max()),
                "seconds": time.perf_counter() - begin}
        rows.append(row)
        print(f"  lr {lr:g}, frozen {row['frozen']}: valid E {row['valid_energy_rmse_mev_atom']:.1f} meV/atom, "
              f"F {row['valid_forces_rmse_mev_a']:.0f} meV/Å, σ {row['valid_stress_rmse_gpa']:.2f} GPa "
              f"(best epoch {row['best_epoch']})", flush=True)
    table = pd.DataFrame(rows)
    baseline = table[(table.lr == configured.learning_rate)
                     & (table.frozen == (",".join(map(str, configured.freeze)) or "none"))].iloc[0]
    for m, short in zip(METRICS, ("E", "F", "stress")):
        table[f"{short}_vs_configured"] = table[f"valid_{m}"] / baseline[f"valid_{m}"]
    print()
    print("valid_/train_: RMSEs at the best epoch (meV/atom, meV/Å, GPa); *_vs_configured: valid RMSE "
          "over the configured recipe's")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))


if __name__ == "__main__":
    main()
