"""Lattice constants with the generated pseudopotentials against all-electron PBE.

    python benchmarks/pseudopotentials.py [--elements Mg O ...] [--kspacing 0.2] [--degauss 0.01]
                                          [--ecut-extra 0] [--workdir DIR] [--tolerance 1.5]

For every element with an ld1.x recipe (``ionnp.dft.pseudo``, ``src/ionnp/dft/ld1_recipes.yaml``)
the pseudopotential is generated, and the recipe's ``check`` crystal (ASE ``bulk``; one
crystal serves every element it holds) is computed with pw.x through
``ionnp.dft.pw.run_structure`` at five lattice constants, 0.97–1.03 times the reference, all on
the k-mesh ``--kspacing`` gives the smallest cell (a mesh that changed along the curve would put
steps into E(V)). A Birch–Murnaghan fit (``ase.eos``) of E(V) gives our PBE lattice constant, printed against the
reference's with the deviation and pass/fail at ``--tolerance`` percent. Cut-offs: the largest
suggestion of the crystal's UPF headers, rounded up to 5 Ry, plus ``--ecut-extra``; ecutrho
8 × ecutwfc (or the suggestion, if larger). Gaussian smearing (several check crystals are
metals): not Marzari–Vanderbilt, whose non-monotonic occupations let pw.x put the Fermi level
of an insulator on its valence-band top (measured here with 0.02 Ry: -TS of 1.3–6.6 mRy per
cell of MgO, Li2O, Na2O, ZnO, CaO and ZrO2, at only some volumes for some of them, enough to
soften Li2O's fitted bulk modulus from 79 to 57 GPa).
pw.x runs serially, one at a time. With ``--workdir`` finished pw.x runs are kept and reused.
"""

from __future__ import annotations

import argparse
import math
import re
import tempfile
import time
from pathlib import Path

from ase.build import bulk
from ase.eos import EquationOfState
from ase.units import GPa

from ionnp.dft.pseudo import generate, recipe_elements, recipes
from ionnp.dft.pw import DftSettings, kpoint_grid, run_structure

SCALES = (0.97, 0.985, 1.0, 1.015, 1.03)


def suggested_cutoffs(upf: Path) -> tuple[float, float]:
    """ld1.x's suggested minimum ecutwfc and ecutrho (Ry) from a UPF v2 header."""
    text = upf.read_text()[:20000]
    wfc = re.search(r'wfc_cutoff="\s*([-+.\dEe]+)"', text)
    rho = re.search(r'rho_cutoff="\s*([-+.\dEe]+)"', text)
    return float(wfc.group(1)), float(rho.group(1))


def crystal_atoms(check: dict, scale: float = 1.0):
    return bulk(check["bulk"]["name"], check["bulk"]["crystalstructure"], a=check["a"] * scale)


def lattice_constant(check: dict, pseudo_dir: Path, workdir: Path, args) -> dict:
    """Our PBE lattice constant of one check crystal (and how it was computed)."""
    atoms = crystal_atoms(check)
    species = sorted(set(atoms.get_chemical_symbols()))
    cutoffs = [suggested_cutoffs(pseudo_dir / f"{element}.UPF") for element in species]
    ecutwfc = 5 * math.ceil(max(c[0] for c in cutoffs) / 5) + args.ecut_extra
    ecutrho = max(8 * ecutwfc, 5 * math.ceil(max(c[1] for c in cutoffs) / 5))
    settings = DftSettings({element: f"{element}.UPF" for element in species}, str(pseudo_dir),
                           ecutwfc=ecutwfc, ecutrho=ecutrho, kspacing=args.kspacing,
                           smearing="gaussian", degauss=args.degauss)
    label = f"{check['bulk']['name']}_{check['bulk']['crystalstructure']}"
    # One k-mesh for every volume (that of the smallest cell): a mesh that changed along the
    # curve would put steps into E(V).
    kpoints = kpoint_grid(crystal_atoms(check, min(SCALES)), args.kspacing)
    volumes, energies, failures = [], [], []
    start = time.perf_counter()
    for scale in SCALES:
        cell = crystal_atoms(check, scale)
        result = run_structure(cell, f"{label}_{scale:.3f}", settings, workdir, "pw.x", kpoints)
        if result.status == "converged":
            volumes.append(cell.get_volume())
            energies.append(result.energy)
        else:
            failures.append(f"{scale}: {result.status} {result.reason[:200]}")
    out = {"ecutwfc": ecutwfc, "ecutrho": ecutrho, "kpoints": kpoints,
           "wall_s": time.perf_counter() - start, "failures": failures, "a": None}
    if len(volumes) >= 4:
        v0, _, b0 = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()
        out["a"] = check["a"] * (v0 / atoms.get_volume()) ** (1 / 3)
        out["bulk_modulus_gpa"] = b0 / GPa
        out["inside"] = min(volumes) <= v0 <= max(volumes)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", nargs="+", default=recipe_elements(),
                        help="elements to check (default: every element with a recipe)")
    parser.add_argument("--kspacing", type=float, default=0.2, help="k spacing (1/Å, 2π included)")
    parser.add_argument("--degauss", type=float, default=0.01, help="Gaussian smearing width (Ry)")
    parser.add_argument("--ecut-extra", type=float, default=0.0,
                        help="Ry added to the suggested ecutwfc (a convergence check)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the pseudopotentials and pw.x runs here (reused when rerun)")
    parser.add_argument("--tolerance", type=float, default=1.5, help="pass: |deviation| ≤ this (%%)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir if args.workdir is not None else Path(tmp)
        pseudo_dir = root / "pseudo"
        checks = {element: recipes()[element]["check"] for element in args.elements}
        needed = sorted({s for check in checks.values() for s in crystal_atoms(check).get_chemical_symbols()})
        for element in needed:
            generate(element, pseudo_dir / f"{element}.UPF")
        computed: dict[tuple, dict] = {}
        for check in checks.values():
            key = (check["bulk"]["name"], check["bulk"]["crystalstructure"], check["a"])
            if key not in computed:
                computed[key] = lattice_constant(check, pseudo_dir, root / "pw", args)
        print(f"| element | crystal | a PBE, ours (Å) | a PBE, reference (Å) | deviation | ≤ {args.tolerance:g} % "
              "| B (GPa) | ecutwfc / ecutrho (Ry) | k-points | pw.x (s) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        failed = []
        for element, check in checks.items():
            result = computed[(check["bulk"]["name"], check["bulk"]["crystalstructure"], check["a"])]
            grid = "×".join(str(k) for k in result["kpoints"])
            cut = f"{result['ecutwfc']:g} / {result['ecutrho']:g}"
            if result["a"] is None:
                failed.append(element)
                print(f"| {element} | {check['crystal']} | — | {check['a']:.4f} | — | **fail** (pw.x) "
                      f"| — | {cut} | {grid} | {result['wall_s']:.0f} |")
                continue
            deviation = 100 * (result["a"] / check["a"] - 1)
            ok = abs(deviation) <= args.tolerance and result["inside"]
            if not ok:
                failed.append(element)
            print(f"| {element} | {check['crystal']} | {result['a']:.4f} | {check['a']:.4f} "
                  f"| {deviation:+.2f} % | {'pass' if ok else '**fail**'} "
                  f"| {result['bulk_modulus_gpa']:.0f} | {cut} | {grid} | {result['wall_s']:.0f} |")
        print("\nReferences:")
        for element, check in checks.items():
            print(f"- {element}, {check['crystal']}: {check['reference']}")
        for key, result in computed.items():
            for failure in result["failures"]:
                print(f"pw.x failed for {key[0]} ({key[1]}) at scale {failure}")
        print(f"\nk spacing {args.kspacing} 1/Å (2π), Gaussian smearing {args.degauss} Ry, scales "
              f"{', '.join(f'{s:g}' for s in SCALES)}, Birch–Murnaghan; "
              f"{len(checks) - len(failed)} of {len(checks)} elements pass"
              + (f" (failed: {', '.join(failed)})" if failed else ""))


if __name__ == "__main__":
    main()
