"""How much of the unit-charge Coulomb term a short-range model cannot learn, against cell size.

    python benchmarks/coulomb_locality.py [--temperature 1000] [--frames 40] [--sizes 2,2,1 3,3,2 ...]

Why. A trained NNP at charge q fits y − q² y_C(1) with a short-range (cut-off) model; only the
part of y_C(1) that such a model cannot represent makes the choice of q visible in its test
errors. A perfect short-range model trained at q on labels whose long-range part is
q*² y_C(1) has an irreducible error |q² − q*²| · v, v the root mean square of the unlearnable
part of y_C(1). This script measures v for thermally disordered wurtzite cells of growing
size, to tell whether test cells larger than the campaign's 8–16 atoms would let a test-error
minimum over q locate the charge.

Frames: the empirical potential (config/config.yaml, formal charges) in LAMMPS, wurtzite relaxed
at 0 GPa and repeated, NVT at ``--temperature`` (2 ps to equilibrate, then a frame every
``--stride`` steps of 1 fs); each frame's Ewald energy, forces and stress at unit charges ±1
(torch-pme, :func:`ionnp.charges.coulomb.coulomb`).

Model: the learnability scan's linear short-range model (:class:`ionnp.charges.scan.PairBasis`,
a polynomial pair potential per species pair inside the NNP's 6 Å cut-off, species constants,
no stress intercept, the scan's default weights), a bound on what a pair model absorbs.
Columns per size: "own" is leave-one-block-out cross-validation within that size (5 contiguous
blocks of frames, so correlated neighbours are not split across train and test); "from N"
(N = 16 by default) fits the smallest size's frames and applies the fit to the others, as a model trained on small
cells meets a large cell in MD. Printed: the RMS of y_C(1) (energies per atom and about the
mean, forces per component, stress per component about the mean) and v.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one thread, as for torch

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from ase import Atoms  # noqa: E402

from ionnp.charges.coulomb import coulomb  # noqa: E402
from ionnp.charges.scan import (  # noqa: E402
    BLOCKS,
    PairBasis,
    ReferenceStructure,
    ScanSettings,
    fit_coefficients,
    linear_system,
)
from ionnp.config import validate_config  # noqa: E402
from ionnp.lammps.empirical import LammpsCell  # noqa: E402
from ionnp.potential import RigidIonPotential  # noqa: E402
from ionnp.prototypes.polymorphs import relax  # noqa: E402
from ionnp.prototypes.structures import build, repeat  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: Contiguous blocks of frames per size for the cross-validation.
BLOCKS_OF_FRAMES = 5


def thermal_frames(unit: Atoms, supercell: tuple[int, int, int], potential: RigidIonPotential,
                   temperature: float, frames: int, stride: int, seed: int) -> list[Atoms]:
    """``frames`` snapshots of ``unit`` repeated by ``supercell`` in NVT at ``temperature`` (K)
    with the empirical potential, after 2000 steps of 1 fs; one every ``stride`` steps."""
    atoms = repeat(unit, supercell, potential.chemistry)
    snapshots = []
    with LammpsCell(atoms, potential, md_accuracy=1e-5) as cell:
        cell.lmp.commands_list([
            "timestep 0.001",
            f"velocity all create {temperature!r} {seed} mom yes rot no dist gaussian",
            f"fix nvt all nvt temp {temperature!r} {temperature!r} 0.1",
            "run 2000",
        ])
        for _ in range(frames):
            cell.lmp.command(f"run {stride}")
            snapshots.append(cell.lammps_frame_atoms())
    return snapshots


def references(frames: list[Atoms], potential: RigidIonPotential) -> list[ReferenceStructure]:
    """Each frame with its unit-charge Coulomb terms and a zero reference (only y_C is fitted)."""
    unit_charges = potential.chemistry.unit_charges
    return [ReferenceStructure(a, "wurtzite", 0.0, np.zeros((len(a), 3)), np.zeros(6),
                               coulomb(a, unit_charges(a))) for a in frames]


def rms_by_block(values: np.ndarray, block: np.ndarray, structure: np.ndarray) -> np.ndarray:
    """RMS per block (energy, forces, stress) of ``values`` (one per row), the energy and
    stress rows about their means over structures (the constant part is any model's species
    constants, or a fixed volume's constant pressure)."""
    out = np.zeros(len(BLOCKS))
    for k in range(len(BLOCKS)):
        v = values[block == k]
        if BLOCKS[k] != "forces":
            v = v.reshape(len(np.unique(structure[block == k])), -1)
            v = v - v.mean(axis=0)
        out[k] = np.sqrt(np.mean(v ** 2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temperature", type=float, default=1000.0, help="K")
    parser.add_argument("--frames", type=int, default=40, help="per size")
    parser.add_argument("--stride", type=int, default=250, help="MD steps (1 fs) between frames")
    parser.add_argument("--sizes", nargs="+", default=["2,2,1", "3,3,2", "4,4,3", "6,6,4"],
                        help="wurtzite supercells of the 4-atom cell, smallest first")
    parser.add_argument("--q-star", type=float, default=0.962,
                        help="the labels' long-range charge for the irreducible-error table (e)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = validate_config(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    potential = RigidIonPotential.from_config(config["potential"])
    supercells = [tuple(int(x) for x in s.split(",")) for s in args.sizes]
    unit = relax(build(config["prototypes"]["structures"]["wurtzite"], potential.chemistry), "wurtzite", 0.0, potential)

    settings = ScanSettings(PairBasis(potential.elements))
    systems, n_atoms, seconds = [], [], []
    for k, supercell in enumerate(supercells):
        start = time.perf_counter()
        frames = thermal_frames(unit, supercell, potential, args.temperature, args.frames,
                                args.stride, seed=12345 + k)
        systems.append(linear_system(references(frames, potential), settings.basis,
                                     stress_intercept=False))
        n_atoms.append(len(frames[0]))
        seconds.append(time.perf_counter() - start)

    small = systems[0]
    theta_small = fit_coefficients(small, np.ones(len(small.block), bool), small.coulomb[:, None],
                                   settings.weights, settings.ridge)
    print(f"wurtzite at {args.temperature:g} K (NVT, empirical potential), {args.frames} frames "
          f"per size every {args.stride} fs; pair model: cut-off {settings.basis.cutoff} Å, "
          f"{settings.basis.n_features} pair columns; unit charges ±1\n")
    smallest = str(n_atoms[0])
    header = (f"{'atoms':>6} {'box (Å)':>17} {'E_C/N rms':>10} {'v_E own':>8} {'v_E ' + smallest:>8} "
              f"{'F_C rms':>8} {'v_F own':>8} {'v_F ' + smallest:>8} {'σ_C rms':>8} {'v_σ own':>8} "
              f"{'v_σ ' + smallest:>8} {'s':>6}")
    print("energy meV/atom, forces meV/Å, stress GPa (energy and stress about their means)")
    print(header)
    v_forces = []
    for system, atoms, supercell, wall in zip(systems, n_atoms, supercells, seconds, strict=True):
        fold_of_row = (system.structure * BLOCKS_OF_FRAMES) // args.frames
        residual_own = np.zeros_like(system.coulomb)
        for fold in np.unique(fold_of_row):
            theta = fit_coefficients(system, fold_of_row != fold, system.coulomb[:, None],
                                     settings.weights, settings.ridge)
            held = fold_of_row == fold
            residual_own[held] = system.coulomb[held] - (system.matrix[held] @ theta)[:, 0]
        residual_small = system.coulomb - (system.matrix @ theta_small)[:, 0]
        size = rms_by_block(system.coulomb, system.block, system.structure)
        own = rms_by_block(residual_own, system.block, system.structure)
        from_small = rms_by_block(residual_small, system.block, system.structure)
        box = "×".join(f"{x:.1f}" for x in np.array(supercell) * unit.cell.lengths())
        print(f"{atoms:>6} {box:>17} {size[0]:>10.2f} {own[0]:>8.3f} {from_small[0]:>8.3f} "
              f"{size[1]:>8.1f} {own[1]:>8.2f} {from_small[1]:>8.2f} {size[2]:>8.3f} "
              f"{own[2]:>8.4f} {from_small[2]:>8.4f} {wall:>6.0f}")
        v_forces.append(own[1])

    q = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    print(f"\nirreducible force error |q² − q*²| · v_F (meV/Å) of a perfect pair model, q* = "
          f"{args.q_star:g} e (own-size fit):")
    print(f"{'atoms':>6} " + " ".join(f"{'q=' + format(x, 'g'):>8}" for x in q))
    for atoms, v_own in zip(n_atoms, v_forces, strict=True):
        print(f"{atoms:>6} " + " ".join(f"{abs(x**2 - args.q_star**2) * v_own:>8.1f}" for x in q))


if __name__ == "__main__":
    main()
