"""Wall time of `snakemake -n` at paper scale, against the default campaign.

    python benchmarks/dry_run_paper_scale.py [--repeats N] [--slurm-profile]

Plans (dry run, nothing executed) the default campaign (config/config.yaml) and the paper-scale
one: config/paper.yaml over config/config.yaml when that file exists, otherwise a paper-scale
config built here: a sampling grid of 4 phases x 5 temperatures x 5 pressures x 2 walkers with
100 frames per run (20 000 frames, the paper's pool) and, where the workflow has a distillation
stage, 2 000 frames kept for pretraining and DFT. Each plan starts in an empty scratch directory,
so every job is planned. Prints jobs, frames and the best wall time of --repeats calls, with the
ratio to the default campaign. --slurm-profile plans with `--profile profiles/slurm` (needs the
SLURM client commands: scripts/slurm-cluster.sh start).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
DEFAULT = REPO / "config" / "config.yaml"
PAPER = REPO / "config" / "paper.yaml"


def paper_scale(base: dict) -> dict:
    """The default campaign grown to the paper's pool of 20 000 frames (if no paper.yaml)."""
    config = {**base}
    pressures = [0, 5, 15, 20, 30]  # each must be a prototype pressure
    config["prototypes"] = {**base.get("prototypes", {})}
    config["prototypes"]["pressures"] = sorted(
        set(config["prototypes"].get("pressures", [])) | set(pressures))
    config["sampling"] = {**base.get("sampling", {}),
                          "phases": ["wurtzite", "zincblende", "rocksalt", "hmgo"],
                          "temperatures": [600, 900, 1200, 1500, 1800],
                          "pressures": pressures, "walkers": 2,
                          "steps": 10000, "write_every": 100}
    if "distill" in config:  # later stages: the paper keeps 2 000 of the 20 000 frames
        config["distill"] = {**config["distill"], "n_pretrain": 2000, "n_dft": 2000}
    return config


def frames(config: dict) -> int:
    sampling = config["sampling"]
    runs = (len(sampling["phases"]) * len(sampling["temperatures"])
            * len(sampling["pressures"]) * sampling.get("walkers", 1))
    return runs * (sampling["steps"] // sampling["write_every"])


def dry_run(configfiles: list[Path], extra: list[str]) -> tuple[float, dict[str, int]]:
    """Wall time of one `snakemake -n` in an empty directory, and its job counts per rule."""
    with tempfile.TemporaryDirectory(prefix="ionnp-dryrun-") as workdir:
        command = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "-d", workdir, "-n",
                   "--configfile", *map(str, configfiles), *extra]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"snakemake -n failed ({' '.join(command)}):\n{result.stderr[-3000:]}")
    output = result.stdout + result.stderr
    table = output.split("Job stats:")[1].split("Reasons:")[0]
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="calls per config (best is kept)")
    parser.add_argument("--slurm-profile", action="store_true",
                        help="plan with --profile profiles/slurm instead of a local run")
    args = parser.parse_args()
    extra = (["--profile", str(REPO / "profiles" / "slurm")] if args.slurm_profile
             else ["--workflow-profile", "none", "--cores", "2"])

    base = yaml.safe_load(DEFAULT.read_text())
    with tempfile.TemporaryDirectory(prefix="ionnp-paper-") as scratch:
        if PAPER.exists():
            paper_files, paper_name = [DEFAULT, PAPER], "config/paper.yaml"
            paper = {**base}
            for section, values in yaml.safe_load(PAPER.read_text()).items():
                paper[section] = ({**base[section], **values} if isinstance(values, dict)
                                  and isinstance(base.get(section), dict) else values)
        else:
            paper = paper_scale(base)
            built = Path(scratch) / "paper.yaml"
            built.write_text(yaml.safe_dump(paper))
            paper_files, paper_name = [built], "paper scale (built here)"

        rows = []
        for name, files, config in [("config/config.yaml", [DEFAULT], base),
                                    (paper_name, paper_files, paper)]:
            times = []
            for _ in range(args.repeats):
                elapsed, counts = dry_run(files, extra)
                times.append(elapsed)
            rows.append((name, counts, frames(config), min(times)))

    print(f"snakemake -n, best of {args.repeats} "
          f"({'--profile profiles/slurm' if args.slurm_profile else 'local'}; "
          f"each in an empty directory)\n")
    print(f"{'config':<28} {'jobs':>6} {'sample':>7} {'frames':>7} {'wall (s)':>9} {'ratio':>6}")
    reference = rows[0][3]
    for name, counts, n_frames, best in rows:
        print(f"{name:<28} {counts.get('total', 0):>6} {counts.get('sample', 0):>7} "
              f"{n_frames:>7} {best:>9.2f} {best / reference:>6.2f}")
    print("\njobs per rule:")
    for name, counts, _, _ in rows:
        print(f"  {name}: " + ", ".join(f"{r} {n}" for r, n in counts.items() if r != "total"))


if __name__ == "__main__":
    main()
