"""Ewald vs PME in ionnp.charges.coulomb: time per call and accuracy, plus the cost of a charge scan.

    python benchmarks/coulomb_ewald_vs_pme.py [--ewald-max-atoms N]

Rattled (0.05 Å) rocksalt ZnO supercells of the 2-atom primitive cell with unit charges, at
the default accuracy. A call is energy + forces + stress; the time is the best of a few calls
after a warm-up. Errors are against a tighter calculation: Ewald at ε = 1e-12 where Ewald is
run, PME at ε = 1e-10 above --ewald-max-atoms (Ewald at 10⁴ atoms takes ~70 s and ~9 GB;
PME at ε = 1e-10 itself is ~1e-10 eV/atom from Ewald at 1000 atoms).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torchpme
from ase.build import bulk

from ionnp.charges.coulomb import coulomb
from ionnp.chemistry import Chemistry
from timing import timed

ZNO = Chemistry("Zn", "O", 2.0)

SIZES = {100: (5, 5, 2), 1000: (10, 10, 5), 10_000: (25, 20, 10)}


def rocksalt_zno(repeat: tuple[int, int, int]):
    atoms = bulk("ZnO", "rocksalt", a=4.28).repeat(repeat)
    atoms.rattle(0.05, seed=1)
    return atoms




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ewald-max-atoms", type=int, default=2000)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, torch-pme {torchpme.__version__}, {threads} threads")
    print("rocksalt ZnO (primitive cell repeated), unit charges, default accuracy ε = 1e-8\n")

    header = (
        f"{'N':>6} {'t Ewald':>9} {'t PME':>9} {'PME/Ewald':>9} "
        f"{'|ΔE|/N Ewald':>13} {'|ΔE|/N PME':>11} {'max|ΔF| PME':>12}  reference"
    )
    print(header)
    print(f"{'':>6} {'(s)':>9} {'(s)':>9} {'':>9} {'(eV)':>13} {'(eV)':>11} {'(eV/Å)':>12}")
    for n_atoms, repeat in SIZES.items():
        atoms = rocksalt_zno(repeat)
        q = ZNO.unit_charges(atoms)
        repeats = 5 if n_atoms <= 100 else 3 if n_atoms <= 1000 else 1
        with_ewald = n_atoms <= args.ewald_max_atoms
        if with_ewald:
            reference = coulomb(atoms, q, method="ewald", accuracy=1e-12)
            label = "Ewald ε=1e-12"
        else:
            reference = coulomb(atoms, q, method="pme", accuracy=1e-10)
            label = "PME ε=1e-10 (Ewald too slow)"
        t_pme, pme = timed(lambda: coulomb(atoms, q, method="pme"), repeats)
        error_pme = abs(pme.energy - reference.energy) / n_atoms
        force_pme = np.abs(pme.forces - reference.forces).max()
        if with_ewald:
            t_ewald, ewald = timed(lambda: coulomb(atoms, q, method="ewald"), repeats)
            error_ewald = abs(ewald.energy - reference.energy) / n_atoms
            ratio = t_pme / t_ewald
            ewald_cols = f"{t_ewald:9.3f} {t_pme:9.3f} {ratio:9.2f} {error_ewald:13.1e}"
        else:
            ewald_cols = f"{'—':>9} {t_pme:9.3f} {'—':>9} {'—':>13}"
        pme_cols = f"{error_pme:11.1e} {force_pme:12.1e}"
        print(f"{len(atoms):6d} {ewald_cols} {pme_cols}  {label}", flush=True)

    atoms = bulk("ZnO", "rocksalt", a=4.28, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    q = ZNO.unit_charges(atoms)
    scale = np.linspace(0.0, 2.0, 41)
    t_pass, unit = timed(lambda: coulomb(atoms, q), 20)
    t_rescale, _ = timed(lambda: [unit.scaled(s) for s in scale], 20)
    t_naive, _ = timed(lambda: [coulomb(atoms, s * q) for s in scale], 1)
    print(f"\ncharge scan, {len(atoms)} atoms, {len(scale)} values of q:")
    print(f"  one coulomb() pass                       {t_pass * 1e3:9.2f} ms")
    print(f"  + rescaling it to {len(scale)} q (q² scaling)      {t_rescale * 1e3:9.2f} ms")
    print(f"  scan / one pass                          {(t_pass + t_rescale) / t_pass:9.4f}")
    print(f"  {len(scale)} separate passes, for comparison     {t_naive * 1e3:9.2f} ms")


if __name__ == "__main__":
    main()
