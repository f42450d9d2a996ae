"""Active against stratified distillation: whole-pool learning curves on a campaign's pool.

    python benchmarks/active_distillation.py [--campaign validation] [--config config/validation.yaml]
                                             [--n-seed N] [--rounds N] [--epochs N]
                                             [--acquisition error|disagreement]

Reads a campaign whose sampling and descriptors exist (``results/sampling/pool.db``,
``results/distill/features.npy``; the config as the campaign ran it, merged over
config/config.yaml) and runs ``distill.method: active`` as the rule would, with
``distill.active`` overridden by the options: FPS picks the pretraining set, stratified FPS the
seed, and each round adds the frames the proxy ensemble (trained on the Buckingham labels)
predicts worst. At each round's set size stratified FPS (the campaign's other method) is
trained the same way. Prints both learning curves — the whole-pool energy and force RMSEs over
every pretraining frame — and active's RMSEs as ratios against stratified FPS at equal size.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from ionnp.config import load_config
from ionnp.distill.active import ActiveSettings, distill_active
from ionnp.distill.selection import within_caps
from ionnp.frames import read_frames
from ionnp.nnp.short_range import ModelSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", type=Path, default=Path("validation"))
    parser.add_argument("--config", nargs="*", default=["config/validation.yaml"],
                        help="the campaign's config files, merged over config/config.yaml")
    parser.add_argument("--n-seed", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--acquisition", choices=("error", "disagreement"), default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)

    config = load_config("config/config.yaml", *args.config)
    distill = config["distill"]
    overrides = {"n_seed": args.n_seed, "rounds": args.rounds, "epochs": args.epochs,
                 "acquisition": args.acquisition}
    section = {**distill["active"], **{k: v for k, v in overrides.items() if v is not None},
               "baseline": True}
    settings = ActiveSettings.from_config(section)
    pool_file, features_file = (args.campaign / "results/sampling/pool.db",
                                args.campaign / "results/distill/features.npy")
    if not pool_file.exists() or not features_file.exists():
        raise SystemExit(f"{pool_file} or {features_file} missing: run the campaign's sampling and "
                         "rule describe first")
    pool = read_frames(pool_file)
    features = np.load(features_file)
    eligible = within_caps(pool, distill["max_pressure_gpa"], distill["min_contact"])
    print(f"{len(pool)} pool frames ({eligible.sum()} within the caps), pretraining set "
          f"{distill['n_pretrain']}, DFT set {distill['n_dft']} from a seed of {settings.n_seed} in "
          f"{settings.rounds} rounds, proxy: {settings.ensemble_size} × {settings.training.epochs} epochs, "
          f"acquisition {settings.acquisition}", flush=True)
    start = time.perf_counter()
    result = distill_active(pool, features, eligible, distill["n_pretrain"], distill["n_dft"], settings,
                            ModelSettings.from_config(config["model"]), list(config["potential"]["charges"]),
                            seed=config["seed"], log=lambda line: print("  " + line, flush=True))
    table = result.curve.merge(result.baseline, on="n_selected", suffixes=("_active", "_stratified"))
    for metric in ("energy_rmse_mev_atom", "forces_rmse_mev_a"):
        table[f"{metric}_ratio"] = table[f"{metric}_active"] / table[f"{metric}_stratified"]
    print(table.drop(columns="round").to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
