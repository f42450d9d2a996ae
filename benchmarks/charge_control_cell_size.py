"""Where the test-error-vs-q minimum of trained NNPs lies when the charge is known, by test-cell size.

    python benchmarks/charge_control_cell_size.py [--q-star 1.0] [--q 0 0.5 1 1.5 2]
                                                  [--train-cell 2,2,1] [--frames 80]
                                                  [--epochs 200] [--seeds 2]
                                                  [--pretrain-frames 0]

A control for the criterion "the fine-tuned test error against q is lowest near the charge":
labels whose long-range charge is known, Buckingham + Coulomb(±q*) computed by LAMMPS (the
config's Buckingham pairs with the charges replaced by ±q*; not ionnp's Coulomb), on wurtzite
frames from NVT with the empirical potential (formal charges; 1 fs steps, a frame every 100 fs
after 2 ps). At every q of the grid one network (the config's architecture, ensemble of 1) is
trained from scratch on frames of ``--train-cell`` (wurtzite supercell; 16 atoms by default,
the campaign's; 600, 1000 and 1400 K, ``--frames`` each; every 8th for validation) with
``train.finetune`` of config/validation.yaml (``--epochs`` caps it) on the targets
y − q² y_C(1), and tested, Coulomb added back, on held-out frames at 1000 K of 16, 72 and 192
atoms. Labels come from :func:`ionnp.sampling.labels.label_frame`. Printed: test RMSEs per q and cell size (mean over ``--seeds`` training seeds);
the q where each is lowest; first, the RMS of the force targets at each q.

With ``--pretrain-frames N`` the campaign's transfer is controlled too: at each q an A-Train
(``train.pretrain``) on N 16-atom frames per temperature labelled by the empirical potential
itself (charges ±z), on its residual at q, y_emp − q² y_C(1) (totals, forces, stress; no
per-atom energies), and from it two fine-tunes on the control's training frames: the
config's start (``shrink``, ``perturb``) and the A-Train kept as it is (1, 0).

benchmarks/coulomb_locality.py measures the part of y_C(1) a pair model cannot absorb at each
size: 5, 25 and 39 meV/Å per unit charge² at 16, 72 and 192 atoms.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one thread, as for torch

import argparse  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from coulomb_locality import thermal_frames  # noqa: E402
from finetune_vs_scratch import target_size, test_errors  # noqa: E402
from ionnp.charges.coulomb import coulomb  # noqa: E402
from ionnp.config import load_config  # noqa: E402
from ionnp.nnp.short_range import ModelSettings  # noqa: E402
from ionnp.sampling.labels import label_frame  # noqa: E402
from ionnp.potential import RigidIonPotential  # noqa: E402
from ionnp.prototypes.polymorphs import relax  # noqa: E402
from ionnp.prototypes.structures import build  # noqa: E402
from ionnp.train.ensemble import train_ensemble  # noqa: E402
from ionnp.train.settings import TrainingSettings  # noqa: E402
from ionnp.train.targets import Sample, finetune_samples  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TRAIN_TEMPERATURES = (600.0, 1000.0, 1400.0)
#: Test sets: (supercell of the 4-atom cell, frames), all at 1000 K.
TEST_SETS = {16: ((2, 2, 1), 40), 72: ((3, 3, 2), 30), 192: ((4, 4, 3), 15)}


def split_samples(samples: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    """(training, validation) samples: every 8th for validation."""
    return ([s for k, s in enumerate(samples) if k % 8 != 7],
            [s for k, s in enumerate(samples) if k % 8 == 7])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--q-star", type=float, default=1.0, help="the labels' charge (e)")
    parser.add_argument("--q", type=float, nargs="+", default=[0.0, 0.5, 1.0, 1.5, 2.0])
    parser.add_argument("--train-cell", default="2,2,1", help="wurtzite supercell of the training frames")
    parser.add_argument("--frames", type=int, default=80, help="training frames per temperature")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=2, help="0: frames and target sizes only")
    parser.add_argument("--pretrain-frames", type=int, default=0,
                        help="A-Train frames per temperature (0: no A-Train, scratch only)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    config = load_config(REPO / "config/config.yaml", REPO / "config/validation.yaml")
    sampler = RigidIonPotential.from_config(config["potential"])
    chemistry = sampler.chemistry
    labels = replace(sampler, charges={s: args.q_star * u for s, u in chemistry.unit_charge.items()})
    model_settings = replace(ModelSettings.from_config(config["model"]), ensemble_size=1)
    settings = TrainingSettings.from_config(config["train"]["finetune"], finetune=True)
    settings = replace(settings, epochs=min(settings.epochs, args.epochs))
    pretrain_settings = TrainingSettings.from_config(config["train"]["pretrain"])
    variants = {"scratch": settings}
    if args.pretrain_frames:
        variants[f"finetune ({settings.shrink:g}, {settings.perturb:g})"] = settings
        variants["finetune (1, 0)"] = replace(settings, shrink=1.0, perturb=0.0)
    elements, cutoff = list(chemistry.elements), model_settings.descriptors.cutoff
    unit = relax(build(config["prototypes"]["structures"]["wurtzite"], chemistry), "wurtzite", 0.0, sampler)

    start = time.perf_counter()
    train_cell = tuple(int(x) for x in args.train_cell.split(","))
    train_frames = [label_frame(a, labels) for k, t in enumerate(TRAIN_TEMPERATURES)
                    for a in thermal_frames(unit, train_cell, sampler, t, args.frames, 100, seed=100 + k)]
    tests = {n: [label_frame(a, labels) for a in thermal_frames(unit, cell, sampler, 1000.0, count, 100,
                                                                seed=200 + n)]
             for n, (cell, count) in TEST_SETS.items()}
    units = [coulomb(a, chemistry.unit_charges(a)) for a in train_frames]
    pretrain_frames = [label_frame(a, sampler) for k, t in enumerate(TRAIN_TEMPERATURES)
                       for a in thermal_frames(unit, (2, 2, 1), sampler, t, args.pretrain_frames, 100,
                                               seed=300 + k)] if args.pretrain_frames else []
    pretrain_units = [coulomb(a, chemistry.unit_charges(a)) for a in pretrain_frames]
    test_units = {n: [coulomb(a, chemistry.unit_charges(a)) for a in frames] for n, frames in tests.items()}
    print(f"labels: Buckingham + Coulomb(±{args.q_star:g}) by LAMMPS; {len(train_frames)} {len(train_frames[0])}-atom "
          f"training frames; test frames {', '.join(f'{len(f)} × {n}' for n, f in tests.items())} "
          f"atoms; {settings.epochs} epochs, lr {settings.learning_rate:g}, E weight "
          f"{settings.energy_weight:g}; frames and labels in {time.perf_counter() - start:.0f} s\n",
          flush=True)

    print("RMS of the force targets F − q² F_C(1) (meV/Å; what the network must fit at q):")
    for n, frames in tests.items():
        sizes = [target_size(frames, test_units[n], q)["target_force_rms"] for q in args.q]
        print(f"  {n:>4} atoms: " + ", ".join(f"q = {q:g}: {f:.0f}" for q, f in zip(args.q, sizes)))
    if args.seeds == 0:
        return
    print(flush=True)
    rows = []
    for q in args.q:
        pretrained = None
        if pretrain_frames:
            samples = finetune_samples(pretrain_frames, pretrain_units, q, elements, cutoff)
            pretrained, _ = train_ensemble(elements, model_settings, pretrain_settings,
                                           *split_samples(samples), charge=q, unit_charges=chemistry.unit_charge)
        train_set, valid_set = split_samples(finetune_samples(train_frames, units, q, elements, cutoff))
        for variant, variant_settings in variants.items():
            for seed in range(args.seeds):
                begin = time.perf_counter()
                potential, _ = train_ensemble(
                    elements, model_settings, replace(variant_settings, seed=seed), train_set, valid_set,
                    pretrained=None if variant == "scratch" else pretrained, charge=q,
                    unit_charges=chemistry.unit_charge)
                for n, frames in tests.items():
                    errors = test_errors(potential, frames, test_units[n])
                    rows.append(dict(variant=variant, q=q, seed=seed, atoms=n, E=errors["energy_rmse"],
                                     F=errors["force_rmse"]))
                print(f"  q = {q:g}, {variant}, seed {seed}: {time.perf_counter() - begin:.0f} s; forces "
                      + ", ".join(f"{r['F']:.1f}" for r in rows[-len(tests):]) + " meV/Å", flush=True)

    runs = pd.DataFrame(rows)
    table = runs.groupby(["variant", "atoms", "q"], sort=False)[["E", "F"]].agg(["mean", "std"])
    print("\ntest RMSEs (E meV/atom, F meV/Å), mean and std over seeds\n")
    print(table.to_string(float_format=lambda x: f"{x:.2f}"))
    print(f"\nlowest (q* = {args.q_star:g} e):")
    means = runs.groupby(["variant", "atoms", "q"], sort=False)[["E", "F"]].mean().reset_index()
    for (variant, n), group in means.groupby(["variant", "atoms"], sort=False):
        print(f"  {variant}, {n:>4} atoms: energy at q = {group.q[group.E.idxmin()]:g}, "
              f"forces at q = {group.q[group.F.idxmin()]:g}")


if __name__ == "__main__":
    main()
