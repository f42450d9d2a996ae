"""How much the training labels move between the campaign's k spacing and a finer one.

    python benchmarks/kspacing_check.py [--campaign validation] [--dataset results/dft/dataset.db]
                                        [--finer 0.4] [--structures 2]

Takes the first ``--structures`` converged DFT structures of a finished campaign (its
``results/dft/dataset.db`` and pseudopotentials, lowest and highest pressure of the sampled
frames), recomputes each with pw.x at the ``--finer`` k spacing, all else equal (the campaign's
cut-offs, smearing, thresholds), and prints the differences: energy per atom (meV/atom), the
largest force component (meV/Å) and the largest stress component (GPa), and the k-point grids.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
from ase.units import GPa

from ionnp.config import load_config
from ionnp.dft.pw import DftSettings, run_structure, structure_name
from ionnp.frames import read_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", default="validation", help="folder of a finished campaign")
    parser.add_argument("--config", default="config/validation.yaml",
                        help="its config file, merged over config/config.yaml as Snakemake does")
    parser.add_argument("--dataset", default="results/dft/dataset.db",
                        help="labelled frames, relative to the campaign (a shard's results/dft/shard_K.db will do)")
    parser.add_argument("--finer", type=float, default=0.4, help="k spacing to compare with (1/Å, 2π)")
    parser.add_argument("--structures", type=int, default=2)
    args = parser.parse_args()
    config = load_config("config/config.yaml", args.config)
    campaign = Path(args.campaign)
    pseudo = sorted((campaign / "results/dft/pseudo").glob("*.UPF"))
    settings = DftSettings.from_config(config["dft"], pseudo)
    finer = dataclasses.replace(settings, kspacing=args.finer)
    sampled = [a for a in read_frames(campaign / args.dataset) if "pool_index" in a.info]
    sampled.sort(key=lambda a: float(a.info["run_pressure_gpa"]))
    picks = [sampled[0], sampled[-1]][: args.structures]
    print(f"{'structure':<14} {'N':>3} {'grid':>10} {'finer grid':>10} {'ΔE (meV/atom)':>14} "
          f"{'max ΔF (meV/Å)':>15} {'max Δσ (GPa)':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for atoms in picks:
            name = structure_name(atoms)
            result = run_structure(atoms, name, finer, Path(tmp), "pw.x")
            if result.status != "converged":
                print(f"{name}: {result.status} {result.reason[:200]}")
                continue
            d_e = 1000 * (result.energy - atoms.get_potential_energy()) / len(atoms)
            d_f = 1000 * np.abs(np.array(result.forces) - atoms.get_forces()).max()
            d_s = np.abs(np.array(result.stress) - atoms.get_stress()).max() / GPa
            grid = json.dumps([int(k) for k in atoms.info["dft_kpoints"]])
            print(f"{name:<14} {len(atoms):>3} {grid:>10} {json.dumps(result.kpoints):>10} "
                  f"{d_e:14.3f} {d_f:15.2f} {d_s:13.3f}")


if __name__ == "__main__":
    main()
