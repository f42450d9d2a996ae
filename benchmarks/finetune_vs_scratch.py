"""Does A-Train pay? Fine-tuning from the pretrained model against training from scratch, on
the same DFT data, at equal epochs, for each q of the campaign's grid.

    python benchmarks/finetune_vs_scratch.py [--campaign .] [--config FILE ...]
                                             [--q 0 1 2] [--epochs N] [--seeds N]

Reads a finished campaign (``models/pretrain_q{q}.pt``, ``results/dft/dataset.db`` with its
split, ``results/charges/coulomb_q1.npz``; the config as it ran, merged over config/config.yaml:
``--campaign validation --config config/validation.yaml``) and trains one model per (q,
variant) with the config's ``train.finetune`` recipe (its epochs unless ``--epochs``), ensemble size 1, one thread,
``--seeds`` times (training seeds 0, 1, ...: initialisation of scratch, perturbation of the
fine-tuning start, shuffling; errors are their mean, with the standard deviation over seeds):

* ``finetune``: from the A-Train at the same q, the recipe as configured (layers frozen as set);
* ``finetune, nothing frozen``: the same with every layer trainable (only where the recipe
  freezes layers);
* ``scratch``: fresh weights, same data, same epochs;
* ``A-Train start``: the pretrained model at q untrained (it should match the empirical
  potential's errors at every q: the A-Train is q-consistent); its energies lie on the
  empirical potential's reference, so its energy RMSE is taken about the mean offset.

With each q comes the RMS of its test targets y_DFT − q² y_C(1) about their mean (forces,
meV/Å; stress, GPa): the size of what the network must fit at that q.

Prints test-split RMSEs (energy per atom, forces, stress; the Coulomb term q²E_C(1) included)
and the mean signed energy error, which tells a constant offset from scatter, with each
variant's mean energy, force and stress RMSE over scratch's at the same q (below 1: A-Train
pays).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from ase.units import GPa

from ionnp.charges.coulomb import read_results
from ionnp.config import load_config
from ionnp.evaluate.errors import predictions
from ionnp.frames import read_frames
from ionnp.nnp.potential import NNPotential
from ionnp.train.ensemble import train_ensemble
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import finetune_samples, finetune_targets


def test_errors(potential: NNPotential, frames, units, *, offset: bool = False) -> dict[str, float]:
    """RMSEs on ``frames``: meV/atom, meV/Å, GPa; and the mean signed energy error (meV/atom).
    ``offset``: the energy RMSE about the mean per-atom error (for a model on another energy
    reference, such as an A-Train on the empirical potential's)."""
    energies, forces, stresses = predictions(potential, frames, units)
    de = np.array([(e - a.get_potential_energy()) / len(a) for e, a in zip(energies, frames)])
    bias = de.mean()
    if offset:
        de = de - bias
    df = np.concatenate([(f - a.get_forces()).ravel() for f, a in zip(forces, frames)])
    ds = np.concatenate([s - a.get_stress() for s, a in zip(stresses, frames)])
    return {"energy_rmse": 1000 * np.sqrt(np.mean(de**2)), "energy_bias": 1000 * bias,
            "force_rmse": 1000 * np.sqrt(np.mean(df**2)), "stress_rmse": np.sqrt(np.mean(ds**2)) / GPa}


def target_size(frames, units, q: float) -> dict[str, float]:
    """RMS of the fine-tuning targets at ``q`` over ``frames``: forces (meV/Å) and stress about
    its mean (GPa)."""
    targets = [finetune_targets(a, c, q) for a, c in zip(frames, units)]
    forces = np.concatenate([t.forces.ravel() for t in targets])
    stress = np.array([t.stress for t in targets])
    return {"target_force_rms": 1000 * np.sqrt(np.mean(forces**2)),
            "target_stress_rms": np.sqrt(np.mean((stress - stress.mean(axis=0))**2)) / GPa}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", type=Path, default=Path("."))
    parser.add_argument("--config", nargs="*", default=[],
                        help="the campaign's config files, merged over config/config.yaml")
    parser.add_argument("--q", type=float, nargs="+", default=None, help="default: train.q_grid")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=1, help="training seeds per (q, variant)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)

    config = load_config("config/config.yaml", *args.config)
    settings = TrainingSettings.from_config(config["train"]["finetune"], finetune=True)
    if args.epochs is not None:
        settings = replace(settings, epochs=args.epochs)
    charges = args.q if args.q is not None else config["train"]["q_grid"]
    pretrained_at = {q: NNPotential.load(args.campaign / f"models/pretrain_q{q:g}.pt") for q in charges}
    pretrained = pretrained_at[charges[0]]
    model_settings = replace(pretrained.settings, ensemble_size=1)
    frames = read_frames(args.campaign / "results/dft/dataset.db")
    units = read_results(args.campaign / "results/charges/coulomb_q1.npz")
    split = [a.info["split"] for a in frames]
    test = [k for k, name in enumerate(split) if name == "test"]
    variants = {"finetune": (True, settings), "scratch": (False, settings)}
    if settings.freeze:
        variants["finetune, nothing frozen"] = (True, replace(settings, freeze=()))
    print(f"{split.count('train')} train, {split.count('valid')} valid, {len(test)} test structures; "
          f"{settings.epochs} epochs, recipe freeze={settings.freeze}, lr={settings.learning_rate}")
    rows = []
    test_frames, test_units = [frames[k] for k in test], [units[k] for k in test]
    for q in charges:
        size = target_size(test_frames, test_units, q)
        start_errors = test_errors(pretrained_at[q], test_frames, test_units, offset=True)
        rows.append(dict(q=q, variant="A-Train start", **start_errors, **size, seconds=0.0))
        samples = finetune_samples(frames, units, q, list(pretrained.elements), model_settings.descriptors.cutoff)
        train_set = [s for s, name in zip(samples, split) if name == "train"]
        valid_set = [s for s, name in zip(samples, split) if name == "valid"]
        for name, (transfer, variant_settings) in variants.items():
            for seed in range(args.seeds):
                begin = time.perf_counter()
                start = pretrained_at[q] if transfer else None
                potential, _ = train_ensemble(list(pretrained.elements), model_settings,
                                              replace(variant_settings, seed=seed), train_set, valid_set,
                                              pretrained=start, charge=q, unit_charges=pretrained.unit_charges)
                errors = test_errors(potential, test_frames, test_units)
                rows.append(dict(q=q, variant=name, **errors, **size, seconds=time.perf_counter() - begin))
                print(f"  q = {q:g} {name}, seed {seed}: forces {errors['force_rmse']:.1f} meV/Å, "
                      f"stress {errors['stress_rmse']:.3g} GPa", flush=True)
    runs = pd.DataFrame(rows)
    table = runs.groupby(["q", "variant"], sort=False).mean().reset_index()
    spread = runs.groupby(["q", "variant"], sort=False)[["energy_rmse", "force_rmse", "stress_rmse"]].std()
    for column in spread:
        table[f"{column}_std"] = spread[column].fillna(0.0).to_numpy()
    scratch = table[table.variant == "scratch"].set_index("q")
    table["energy_vs_scratch"] = table.energy_rmse / table.q.map(scratch.energy_rmse)
    table["force_vs_scratch"] = table.force_rmse / table.q.map(scratch.force_rmse)
    table["stress_vs_scratch"] = table.stress_rmse / table.q.map(scratch.stress_rmse)
    print()
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))


if __name__ == "__main__":
    main()
