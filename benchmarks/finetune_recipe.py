"""Which fine-tuning recipe? Learning rate × frozen layers × energy weight × shrink and perturb,
against scratch, measured on a campaign's DFT data.

    python benchmarks/finetune_recipe.py [--campaign validation] [--config config/validation.yaml]
                                         [--q 1] [--learning-rates 1e-4 3e-4 1e-3 3e-3]
                                         [--energy-weights W ...] [--shrink-perturb S,P ...]
                                         [--scratch] [--seeds 1]
                                         [--epochs N] [--early-stopping N] [--processes 1]

Reads a campaign whose DFT data and A-Train exist (``results/dft/dataset.db`` with its split,
``results/charges/coulomb_q1.npz``, ``models/pretrain_q{q}.pt``, or ``models/pretrain_qeff.pt``
when q is the campaign's q_eff; the config as the campaign ran
it, merged over config/config.yaml) and trains one ensemble member (one thread) per recipe and
seed: each learning rate of ``--learning-rates`` × each energy-loss weight of
``--energy-weights`` (default: the configured one) × each start of ``--shrink-perturb`` (the
A-Train weights as shrink·θ + perturb·θ_fresh; default: the configured pair), from the A-Train
with the layers frozen as configured and with every layer trainable, and with ``--scratch``
also from fresh weights;
everything else (epochs and early stopping unless given, the other loss weights, batch size,
the ReduceLROnPlateau schedule) as ``train.finetune`` says. Seeds differ in shuffling (and in
the initial weights from scratch); member variance is large on ~50 structures, so compare means
over ``--seeds``.

Prints per recipe the validation-split RMSEs at its best epoch (the weights the workflow keeps),
averaged over the seeds, the training RMSEs of that epoch, the best and last epochs, and the
validation RMSEs as ratios against the configured recipe, measured in the same run. The test
split is not looked at: a recipe chosen on it would make the reported test errors optimistic.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from multiprocessing import Pool
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

#: What every worker process reads once (set by :func:`_load`).
_DATA: dict = {}


def _load(campaign: Path, q: float, model: str) -> None:
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    pretrained = NNPotential.load(campaign / "models" / f"pretrain_{model}.pt")
    model_settings = replace(pretrained.settings, ensemble_size=1)
    frames = read_frames(campaign / "results/dft/dataset.db")
    units = read_results(campaign / "results/charges/coulomb_q1.npz")
    split = [a.info["split"] for a in frames]
    samples = finetune_samples(frames, units, q, list(pretrained.elements), model_settings.descriptors.cutoff)
    _DATA.update(q=q, pretrained=pretrained, model_settings=model_settings,
                 train=[s for s, name in zip(samples, split) if name == "train"],
                 valid=[s for s, name in zip(samples, split) if name == "valid"])


def _train(job: tuple[str, TrainingSettings]) -> dict:
    """One member of one recipe: best-epoch validation and training RMSEs."""
    start, settings = job
    begin = time.perf_counter()
    pretrained = _DATA["pretrained"]
    _, (history,) = train_ensemble(list(pretrained.elements), _DATA["model_settings"], settings,
                                   _DATA["train"], _DATA["valid"],
                                   pretrained=pretrained if start == "A-Train" else None,
                                   charge=_DATA["q"], unit_charges=pretrained.unit_charges)
    best = history.loc[history.valid_loss.idxmin()]
    row = {"start": start, "lr": settings.learning_rate, "energy_weight": settings.energy_weight,
           "frozen": ",".join(map(str, settings.freeze)) or "none",
           "shrink_perturb": _pair(settings.shrink, settings.perturb), "seed": settings.seed}
    row |= {f"valid_{m}": best[f"valid_{m}"] for m in METRICS}
    row |= {f"train_{m}": best[f"train_{m}"] for m in METRICS}
    row |= {"best_epoch": int(best.epoch), "last_epoch": int(history.epoch.max()),
            "seconds": time.perf_counter() - begin}
    print(f"  {start}, lr {row['lr']:g}, E weight {row['energy_weight']:g}, frozen {row['frozen']}, "
          f"shrink,perturb {row['shrink_perturb']}, "
          f"seed {row['seed']}: valid E {row['valid_energy_rmse_mev_atom']:.1f} meV/atom, "
          f"F {row['valid_forces_rmse_mev_a']:.0f} meV/Å, σ {row['valid_stress_rmse_gpa']:.2f} GPa "
          f"(best epoch {row['best_epoch']})", flush=True)
    return row


def _pair(shrink: float, perturb: float) -> str:
    return f"{shrink:g},{perturb:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", type=Path, default=Path("validation"))
    parser.add_argument("--config", nargs="*", default=["config/validation.yaml"],
                        help="the campaign's config files, merged over config/config.yaml")
    parser.add_argument("--q", type=float, default=None,
                        help="charge (e); default q_eff of results/charges/q_eff.json (its A-Train), else 1")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3, 3e-3])
    parser.add_argument("--energy-weights", type=float, nargs="+", default=None,
                        help="energy-loss weights; default: train.finetune's")
    parser.add_argument("--shrink-perturb", nargs="+", default=None, metavar="S,P",
                        help="A-Train starts shrink·θ + perturb·θ_fresh; default: train.finetune's")
    parser.add_argument("--scratch", action="store_true", help="also train from fresh weights")
    parser.add_argument("--seeds", type=int, default=1, help="members per recipe (seeds 0..N-1)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--early-stopping", type=int, default=None)
    parser.add_argument("--processes", type=int, default=1, help="parallel trainings, one thread each")
    args = parser.parse_args()

    config = load_config("config/config.yaml", *args.config)
    configured = TrainingSettings.from_config(config["train"]["finetune"], finetune=True)
    if args.epochs is not None:
        configured = replace(configured, epochs=args.epochs)
    if args.early_stopping is not None:
        configured = replace(configured, early_stopping=args.early_stopping)
    q_file = args.campaign / "results/charges/q_eff.json"
    if args.q is None and q_file.exists():
        q, model = json.loads(q_file.read_text())["q_eff"], "qeff"
    else:
        q = 1.0 if args.q is None else args.q
        model = f"q{q:g}"
    _load(args.campaign, q, model)
    print(f"q = {q:g} e; {len(_DATA['train'])} train, {len(_DATA['valid'])} valid structures; up to "
          f"{configured.epochs} epochs (early stopping {configured.early_stopping}); configured: "
          f"lr {configured.learning_rate:g}, E weight {configured.energy_weight:g}, "
          f"freeze {list(configured.freeze)}, shrink,perturb "
          f"{_pair(configured.shrink, configured.perturb)}; {args.seeds} seed(s) per recipe", flush=True)

    weights = args.energy_weights or [configured.energy_weight]
    starts = ([tuple(float(x) for x in pair.split(",")) for pair in args.shrink_perturb]
              if args.shrink_perturb else [(configured.shrink, configured.perturb)])
    recipes = [("A-Train", lr, freeze, w, sp) for freeze in dict.fromkeys((configured.freeze, ()))
               for lr in args.learning_rates for w in weights for sp in starts]
    if args.scratch:
        recipes += [("scratch", lr, (), w, (1.0, 0.0)) for lr in args.learning_rates for w in weights]
    configured_recipe = ("A-Train", configured.learning_rate, configured.freeze, configured.energy_weight,
                         (configured.shrink, configured.perturb))
    if configured_recipe not in recipes:
        recipes.insert(0, configured_recipe)
    jobs = [(start, replace(configured, learning_rate=lr, freeze=freeze, energy_weight=w,
                            shrink=sp[0], perturb=sp[1], seed=seed))
            for start, lr, freeze, w, sp in recipes for seed in range(args.seeds)]
    if args.processes > 1:
        with Pool(args.processes, initializer=_load, initargs=(args.campaign, q, model)) as pool:
            rows = pool.map(_train, jobs, chunksize=1)
    else:
        rows = [_train(job) for job in jobs]

    members = pd.DataFrame(rows)
    keys = ["start", "lr", "energy_weight", "frozen", "shrink_perturb"]
    table = members.drop(columns="seed").groupby(keys, sort=False).mean().reset_index()
    start, lr, freeze, w, sp = configured_recipe
    baseline = table[(table.start == start) & (table.lr == lr) & (table.energy_weight == w)
                     & (table.frozen == (",".join(map(str, freeze)) or "none"))
                     & (table.shrink_perturb == _pair(*sp))].iloc[0]
    for m, short in zip(METRICS, ("E", "F", "stress")):
        table[f"{short}_vs_configured"] = table[f"valid_{m}"] / baseline[f"valid_{m}"]
    print()
    print(f"valid_/train_: RMSEs at the best epoch (meV/atom, meV/Å, GPa), mean over {args.seeds} "
          "seed(s); *_vs_configured: valid RMSE over the configured recipe's")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))


if __name__ == "__main__":
    main()
