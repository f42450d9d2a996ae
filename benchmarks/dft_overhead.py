"""ionnp's overhead per DFT structure against the same pw.x input run directly.

For a few 2-atom and 8-atom ZnO cells: wall time of ``ionnp.dft.pw.run_structure`` (writes the
input through ASE, runs pw.x, parses and records the result) and of ``pw.x -in espresso.pwi``
on the very input ionnp wrote, alternated three times in the same run (best of each), with
the ratio.
Usage: python benchmarks/dft_overhead.py
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.build import bulk

from ionnp.dft.pseudo import generate
from ionnp.dft.pw import DftSettings, run_structure

REPEATS = 3


def cells():
    rng = np.random.default_rng(0)
    for name, atoms in (("rocksalt 2 atoms", bulk("ZnO", "rocksalt", a=4.3)),
                        ("wurtzite 4 atoms", bulk("ZnO", "wurtzite", a=3.25, c=5.2)),
                        ("rocksalt 8 atoms", bulk("ZnO", "rocksalt", a=4.3, cubic=True))):
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        yield name, atoms


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for element in ("Zn", "O"):
            generate(element, root / f"{element}.UPF")
        settings = DftSettings({"Zn": "Zn.UPF", "O": "O.UPF"}, str(root))
        print(f"{'structure':<18} | {'ionnp (s)':>9} | {'pw.x (s)':>8} | {'overhead':>8}")
        print("-" * 54)
        for k, (name, atoms) in enumerate(cells()):
            ours, direct = [], []
            for repeat in range(REPEATS):  # alternate the two, keep the best of each
                start = time.perf_counter()
                run_structure(atoms, f"s{k}_{repeat}", settings, root / "ionnp", "pw.x")
                ours.append(time.perf_counter() - start)
                attempt = root / "ionnp" / f"s{k}_{repeat}" / "attempt_1"
                start = time.perf_counter()
                subprocess.run("pw.x -in espresso.pwi > direct.pwo", shell=True, cwd=attempt, check=True)
                direct.append(time.perf_counter() - start)
            ours, direct = min(ours), min(direct)
            print(f"{name:<18} | {ours:>9.2f} | {direct:>8.2f} | {100 * (ours / direct - 1):>7.1f}%")
    print(f"\nsettings: {settings.ecutwfc:g}/{settings.ecutrho:g} Ry, k-spacing {settings.kspacing} 1/Å (2π), serial pw.x")


if __name__ == "__main__":
    main()
