"""Throughput of the ionnp NNP against a MACE model of similar size, one CPU thread.

    python benchmarks/nnp_throughput.py [--repeats 5] [--threads 1] [--no-mace] [--no-md] [--no-scaling]

Inference: energy + forces + stress of rattled (0.05 Å) 1000-atom ZnO cells (wurtzite and
rocksalt), atoms per second, best of ``--repeats`` calls after a warm-up. The ionnp rows:

* ``ionnp 1 model``: one ShortRangeModel (the unit MACE compares with), neighbour list included;
* ``ionnp ensemble K``: the default NNPotential (K members sharing one descriptor pass), mean
  forces only (``spread=False``) and with the force/stress spread (one backward per member);
* ``Coulomb q²E_C(1)``: the analytic term of the full potential (ionnp.charges.coulomb, PME at this
  size, float64), which MACE does not have; the full potential costs ensemble + Coulomb.

Training: one optimisation step (forward, forces and stress with a graph for the loss, loss
of E, F and σ, backward, AdamW) on a batch of 8 rattled 96-atom wurtzite cells.

MD: CPU time of one NVE velocity-Verlet step (energy, forces and stress; 0.5 fs, 300 K) of
rattled 96- and 768-atom wurtzite cells with the default ensemble at q = 0.8 (``spread=False``),
four ways: ASE's VelocityVerlet with IonnpCalculator (Coulomb by torch-pme's Ewald at the
model's ε = 1e-8, and at ε = 1e-5), and LAMMPS (ionnp.lammps.nnp: the NNP through the compiled
``pair_style ionnp`` and through Python's ``fix external``, Coulomb by LAMMPS's PPPM at 1e-5
relative force accuracy). The row ``NNP short range alone`` is
the ensemble's forward and backward pass with its neighbour list, the part both paths share.
The LAMMPS set-up (one evaluation per :meth:`LammpsNNP.run`) is timed apart and subtracted.

Scaling: CPU time per NVE step of the full potential in LAMMPS at 1000, 4000 and 16 000 atoms,
pair style against fix external (the exponent of a power-law fit; 1 is linear), atoms/s against
MACE's at 1000 atoms, the pair style's strong scaling from 1 to 2 MPI ranks at 16 000 atoms
(wall time, plain LAMMPS), and
the PPPM accuracy (1e-4 … 1e-6) against its cost and its largest force error from precise Ewald.

MACE (mace-torch, from requirements-bench.txt): ScaleShiftMACE, 32x0e hidden irreps, max_ell 3, correlation 3, two
interactions, r_max equal to the ionnp cut-off, float32 — the size of a small production
MACE. If mace-torch cannot be imported, the script says so and prints ionnp's numbers only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ase import Atoms, units
from ase.build import bulk
from ase.io import write
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet

from ionnp.charges.coulomb import coulomb
from ionnp.chemistry import Chemistry
from ionnp.deploy.export import export_model
from ionnp.deploy.lammps_input import input_lines
from ionnp.lammps.nnp import MD_COULOMB, PRECISE_COULOMB, CoulombSettings, LammpsNNP
from ionnp.nnp.calculator import IonnpCalculator
from ionnp.nnp.graph import build_graph
from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel

ZNO = Chemistry.from_charges({"Zn": 2.0, "O": -2.0})

ELEMENTS = ("Zn", "O")
UNIT_CHARGES = {"Zn": 1.0, "O": -1.0}  # E_C(1) of ZnO: formal charges over Zn's


def structures() -> dict[str, Atoms]:
    cells = {
        "wurtzite": bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat((5, 5, 10)),
        "rocksalt": bulk("ZnO", "rocksalt", a=4.28, cubic=True).repeat((5, 5, 5)),
    }
    for atoms in cells.values():
        atoms.rattle(0.05, seed=1)
    return cells


def training_batch(n: int = 8) -> list[Atoms]:
    frames = []
    for k in range(n):
        atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat((4, 3, 2))  # 96 atoms
        atoms.rattle(0.1, seed=k)
        frames.append(atoms)
    return frames


def best_time(function: Callable[[], Any], repeats: int) -> float:
    """Least CPU time of this process over ``repeats`` calls after a warm-up (s).

    CPU time, not wall time: the benchmark runs on shared nodes, where a one-thread process
    waits for a core for long stretches; its CPU time is what the work costs. Wall times
    are kept in :data:`WALL` for the record.
    """
    function()
    best, best_wall = np.inf, np.inf
    for _ in range(repeats):
        start, start_wall = time.process_time(), time.perf_counter()
        function()
        best = min(best, time.process_time() - start)
        best_wall = min(best_wall, time.perf_counter() - start_wall)
    WALL.append(best_wall)
    return best


#: Least wall times of the calls of :func:`best_time`, in order.
WALL: list[float] = []


def n_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---- ionnp


def ionnp_inference(atoms: Atoms, settings: ModelSettings, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    single = ShortRangeModel(ELEMENTS, settings)
    single.fit_normalisation(build_graph(atoms, ELEMENTS, single.cutoff))
    ensemble = NNPotential.create(ELEMENTS, settings)
    for member in ensemble.members:
        member.load_state_dict(single.state_dict())  # same statistics; weights are irrelevant here

    def one_model() -> None:
        single(build_graph(atoms, ELEMENTS, single.cutoff))

    def members(spread: bool) -> Callable[[], None]:
        return lambda: ensemble.short_range(build_graph(atoms, ELEMENTS, single.cutoff),
                                            spread=spread)

    def coulomb_term() -> None:
        coulomb(atoms, ZNO.unit_charges(atoms), dtype=torch.float64)

    graph_time = best_time(lambda: build_graph(atoms, ELEMENTS, single.cutoff), repeats)
    return {
        "neighbour list + graph": graph_time,
        "ionnp 1 model": best_time(one_model, repeats),
        f"ionnp ensemble K={settings.ensemble_size}, mean": best_time(members(False), repeats),
        f"ionnp ensemble K={settings.ensemble_size}, spread": best_time(members(True), repeats),
        "Coulomb q²E_C(1) (PME, float64)": best_time(coulomb_term, max(1, repeats // 2)),
    }


def ionnp_training_step(frames: list[Atoms], settings: ModelSettings, repeats: int) -> float:
    from ionnp.train.loop import train_step
    from ionnp.train.settings import TrainingSettings
    from ionnp.train.targets import pretrain_samples

    for atoms in frames:
        n = len(atoms)
        atoms.info.update(buck_energy=0.1 * n, buck_stress=np.full(6, 1e-3))
        atoms.arrays["buck_energies"] = np.full(n, 0.1)
        atoms.arrays["buck_forces"] = np.zeros((n, 3))
    torch.manual_seed(0)
    samples = pretrain_samples(frames, ELEMENTS, settings.descriptors.cutoff)
    model = ShortRangeModel(ELEMENTS, settings)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    training = TrainingSettings()

    def step() -> None:
        train_step(model, optimizer, samples, training)

    return best_time(step, repeats)


# ---- MD: ASE against LAMMPS


#: Effective charge of the MD comparison (e).
MD_CHARGE = 0.8
#: MD cells: 96 and 768 atoms of wurtzite.
MD_REPEATS = ((4, 3, 2), (8, 6, 4))


def md_cells() -> list[Atoms]:
    cells = []
    for repeat in MD_REPEATS:
        atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat(repeat)
        atoms.rattle(0.05, seed=1)
        thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
        Stationary(atoms)
        cells.append(atoms)
    return cells


def md_model(atoms: Atoms, settings: ModelSettings) -> NNPotential:
    """The default ensemble at q = MD_CHARGE with feature statistics of ``atoms``."""
    torch.manual_seed(0)
    single = ShortRangeModel(ELEMENTS, settings)
    single.fit_normalisation(build_graph(atoms, ELEMENTS, single.cutoff))
    model = NNPotential.create(ELEMENTS, settings, charge=MD_CHARGE, unit_charges=UNIT_CHARGES)
    for member in model.members:
        member.load_state_dict(single.state_dict())
    return model


def md_step_times(atoms: Atoms, settings: ModelSettings, steps: int, repeats: int
                  ) -> dict[str, tuple[float, float]]:
    """(CPU, wall) seconds per MD step of each path, for the same q = MD_CHARGE ensemble."""
    model = md_model(atoms, settings)

    def per_step(function: Callable[[], Any]) -> tuple[float, float]:
        return best_time(function, repeats) / steps, WALL[-1] / steps

    def ase_path(accuracy: float) -> tuple[float, float]:
        path_model = NNPotential(model.members, MD_CHARGE, UNIT_CHARGES, coulomb_accuracy=accuracy)
        moving = atoms.copy()
        moving.calc = IonnpCalculator(path_model, spread=False)
        dynamics = VelocityVerlet(moving, timestep=0.5 * units.fs)
        return per_step(lambda: dynamics.run(steps))

    times = {
        "NNP short range alone": per_step(
            lambda: [model.short_range(model.graph(atoms), spread=False) for _ in range(steps)]),
        "ASE VelocityVerlet, Coulomb ε=1e-8": ase_path(1e-8),
        "ASE VelocityVerlet, Coulomb ε=1e-5": ase_path(1e-5),
    }
    for route, label in (("fix_external", "LAMMPS fix external + PPPM 1e-5"),
                         ("pair_style", "LAMMPS pair_style ionnp + PPPM 1e-5")):
        with LammpsNNP(atoms, model, route=route) as md:
            set_up = best_time(lambda: md.run(0), repeats), WALL[-1]
            run = best_time(lambda: md.run(steps, 0.5, thermo_every=steps), repeats), WALL[-1]
        times[label] = tuple((r - s) / steps for r, s in zip(run, set_up))
    return times


#: Wurtzite repetitions of the scaling rows: 1000, 4000 and 16 000 atoms.
SCALING_REPEATS = ((5, 5, 10), (10, 10, 10), (20, 20, 10))
#: PPPM relative force accuracies compared at 1000 atoms.
PPPM_ACCURACIES = (1e-4, 1e-5, 1e-6)


def lammps_step_time(atoms: Atoms, model: NNPotential, steps: int, repeats: int,
                     coulomb: CoulombSettings = MD_COULOMB, route: str = "pair_style") -> float:
    """CPU seconds per NVE step of the full potential in LAMMPS (set-up subtracted)."""
    with LammpsNNP(atoms, model, coulomb=coulomb, route=route) as md:
        set_up = best_time(lambda: md.run(0), repeats)
        run = best_time(lambda: md.run(steps, 0.5, thermo_every=steps), repeats)
    return (run - set_up) / steps


def coulomb_force_error(atoms: Atoms, model: NNPotential, accuracy: float) -> float:
    """Largest force deviation (eV/Å) of PPPM at ``accuracy`` from precise Ewald, same model."""
    with LammpsNNP(atoms, model, coulomb=PRECISE_COULOMB) as md:
        reference = md.snapshot().get_forces()
    with LammpsNNP(atoms, model, coulomb=CoulombSettings(accuracy=accuracy)) as md:
        return float(np.abs(md.snapshot().get_forces() - reference).max())


def scaling_rows(settings: ModelSettings, steps: int, repeats: int,
                 mace_atoms_per_s: float | None) -> None:
    """Print the LAMMPS path's step time at 1000–16 000 atoms with the fitted exponent, the
    PPPM accuracy against its cost and force error, and the full potential against MACE."""
    print("\nLAMMPS (network + PPPM 1e-5), NVE step CPU time against size: pair_style ionnp and "
          "the fix external route\n")
    header = (f"{'N':>6} {'pair (s)':>9} {'fix ext (s)':>11} {'pair/fix':>8} {'atoms/s':>9} "
              f"{'vs MACE':>8}")
    print(header)
    print("-" * len(header))
    sizes, seconds = [], []
    for repeat in SCALING_REPEATS:
        atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat(repeat)
        atoms.rattle(0.05, seed=1)
        model = md_model(atoms, settings)
        step = lammps_step_time(atoms, model, steps, repeats)
        external = lammps_step_time(atoms, model, steps, repeats, route="fix_external")
        sizes.append(len(atoms))
        seconds.append(step)
        ratio = f"{len(atoms) / step / mace_atoms_per_s:8.2f}" if mace_atoms_per_s else ""
        print(f"{len(atoms):>6} {step:9.4f} {external:11.4f} {external / step:8.2f} "
              f"{len(atoms) / step:9.0f} {ratio:>8}")
    exponent = np.polyfit(np.log(sizes), np.log(seconds), 1)[0]
    print(f"pair style cost ∝ N^{exponent:.2f} (1 is linear); 'pair/fix': speed-up of the pair style "
          "over fix external; 'vs MACE': atoms/s over MACE's inference at 1000 atoms")
    strong_scaling(md_model(atoms, settings), atoms, steps)
    print("\nPPPM accuracy at 1000 atoms: step CPU time and the largest force error against "
          "precise Ewald\n")
    atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat(SCALING_REPEATS[0])
    atoms.rattle(0.05, seed=1)
    model = md_model(atoms, settings)
    for accuracy in PPPM_ACCURACIES:
        step = lammps_step_time(atoms, model, steps, repeats, CoulombSettings(accuracy=accuracy))
        error = coulomb_force_error(atoms, model, accuracy)
        print(f"PPPM {accuracy:.0e}: {step:9.4f} s/step, max |ΔF| {1000 * error:8.3f} meV/Å")


def plain_lammps_step_time(model_file: Path, atoms: Atoms, steps: int, ranks: int = 1,
                           device: str = "cpu") -> float:
    """Wall seconds per NVE step of ``atoms`` in a plain LAMMPS input with pair_style ionnp
    (the deployed ``model_file``, PPPM 1e-5) on ``ranks`` MPI ranks of one thread, on ``device``;
    the first step (set-up) not counted."""
    bin_dir = Path(sys.prefix) / "bin"
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        write(directory / "data.lmp", atoms, format="lammps-data", specorder=list(ELEMENTS),
              atom_style="charge", masses=True)
        lines = ["units metal", "atom_style charge", "read_data data.lmp",
                 *input_lines(model_file, device=device),
                 "velocity all create 300 1 mom yes rot yes", "timestep 0.0005", "fix nve all nve",
                 "run 1", f"run {steps}"]
        (directory / "in.lmp").write_text("\n".join(lines) + "\n")
        command = [str(bin_dir / "mpiexec"), "-n", str(ranks), str(bin_dir / "lmp"), "-in", "in.lmp"]
        out = subprocess.run(command, cwd=directory, capture_output=True, text=True, check=True,
                             env=os.environ | {"OMP_NUM_THREADS": "1"}).stdout
    return float(re.findall(r"Loop time of ([0-9.eE+-]+) on", out)[-1]) / steps


def strong_scaling(model: NNPotential, atoms: Atoms, steps: int) -> None:
    """Wall time per NVE step of ``atoms`` with pair_style ionnp on 1 and 2 MPI ranks, and the
    speed-up."""
    with tempfile.TemporaryDirectory() as directory:
        model_file = Path(directory) / "model.pt"
        export_model(model, model_file)
        loop = {ranks: plain_lammps_step_time(model_file, atoms, steps, ranks) for ranks in (1, 2)}
    print(f"\nStrong scaling, {len(atoms)} atoms, plain LAMMPS with pair_style ionnp + PPPM 1e-5 "
          f"(wall s/step): 1 rank {loop[1]:.4f}, 2 ranks {loop[2]:.4f}, speed-up "
          f"{loop[1] / loop[2]:.2f}")


# ---- MACE


#: The MACE architecture compared against (changed by the command-line options).
MACE = {"hidden": "32x0e", "max_ell": 3, "correlation": 3}


def mace_model(r_max: float, avg_num_neighbors: float) -> torch.nn.Module:
    from e3nn import o3
    from mace import modules

    torch.manual_seed(0)
    interaction = modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    return modules.ScaleShiftMACE(
        r_max=r_max, num_bessel=8, num_polynomial_cutoff=5, max_ell=MACE["max_ell"],
        interaction_cls=interaction, interaction_cls_first=interaction, num_interactions=2,
        num_elements=2, hidden_irreps=o3.Irreps(MACE["hidden"]), MLP_irreps=o3.Irreps("16x0e"),
        atomic_energies=np.zeros(2), avg_num_neighbors=avg_num_neighbors,
        atomic_numbers=[8, 30], correlation=MACE["correlation"], gate=torch.nn.functional.silu,
        radial_MLP=[64, 64, 64], atomic_inter_scale=1.0, atomic_inter_shift=0.0,
    ).float()


def mace_batch(frames: list[Atoms], r_max: float) -> dict[str, torch.Tensor]:
    from mace import data, tools
    from mace.tools.torch_geometric.dataloader import DataLoader

    z_table = tools.AtomicNumberTable([8, 30])
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        items = [data.AtomicData.from_config(data.config_from_atoms(a), z_table=z_table, cutoff=r_max)
                 for a in frames]
        loader = DataLoader(items, batch_size=len(items), shuffle=False, drop_last=False)
        return next(iter(loader)).to_dict()
    finally:
        torch.set_default_dtype(previous)


def _fresh(batch: dict[str, Any]) -> dict[str, Any]:
    """A copy of a MACE batch: MACE's forward replaces positions and cell by strained ones."""
    return {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def mace_inference(atoms: Atoms, r_max: float, repeats: int) -> tuple[float, float, int]:
    """(time with the neighbour list, time without, parameters)."""
    batch = mace_batch([atoms], r_max)
    neighbours = batch["edge_index"].shape[1] / len(atoms)
    model = mace_model(r_max, neighbours)

    def with_graph() -> None:
        model(mace_batch([atoms], r_max), compute_force=True, compute_stress=True)

    def without_graph() -> None:
        model(_fresh(batch), compute_force=True, compute_stress=True)

    return best_time(with_graph, repeats), best_time(without_graph, repeats), n_parameters(model)


def mace_training_step(frames: list[Atoms], r_max: float, repeats: int) -> float:
    batch = mace_batch(frames, r_max)
    model = mace_model(r_max, batch["edge_index"].shape[1] / len(batch["positions"]))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    energy = torch.zeros(len(frames))
    n_atoms = torch.tensor([len(a) for a in frames], dtype=torch.float32)

    def step() -> None:
        optimizer.zero_grad()
        out = model(_fresh(batch), training=True, compute_force=True, compute_stress=True)
        loss = (((out["energy"] - energy) / n_atoms) ** 2).mean() + 0.1 * (out["forces"] ** 2).mean() \
            + 0.025 * (out["stress"] ** 2).mean()
        loss.backward()
        optimizer.step()

    return best_time(step, repeats)


# ---- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-mace", action="store_true", help="skip the MACE comparison")
    parser.add_argument("--no-md", action="store_true", help="skip the MD comparison")
    parser.add_argument("--md-steps", type=int, default=10, help="MD steps per timed call")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1000-16 000 atom LAMMPS rows")
    parser.add_argument("--mace-hidden", default=MACE["hidden"], help="MACE hidden irreps")
    parser.add_argument("--mace-max-ell", type=int, default=MACE["max_ell"])
    parser.add_argument("--mace-correlation", type=int, default=MACE["correlation"])
    args = parser.parse_args()
    MACE.update(hidden=args.mace_hidden, max_ell=args.mace_max_ell,
                correlation=args.mace_correlation)
    torch.set_num_threads(args.threads)
    settings = ModelSettings()
    single = ShortRangeModel(ELEMENTS, settings)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), float32")
    print(f"ionnp: {single.descriptor.n_features} symmetry functions (cut-off "
          f"{settings.descriptors.cutoff} Å), networks {list(settings.hidden_layers)} "
          f"({settings.activation}), {n_parameters(single)} parameters per model, "
          f"ensemble K = {settings.ensemble_size}")

    mace_error = None
    if not args.no_mace:
        try:
            warnings.filterwarnings("ignore", category=UserWarning)  # TorchScript chatter
            import mace

            print(f"MACE {mace.__version__}: ScaleShiftMACE {MACE['hidden']}, max_ell "
                  f"{MACE['max_ell']}, correlation {MACE['correlation']}, 2 interactions, "
                  f"radial MLP [64, 64, 64], r_max {settings.descriptors.cutoff} Å")
        except Exception as error:  # noqa: BLE001 - any import failure means: no MACE here
            mace_error = f"{type(error).__name__}: {error}"
            print(f"MACE unavailable ({mace_error}); ionnp's numbers only "
                  "(install: .venv/bin/pip install -c constraints.txt mace-torch)")
    use_mace = not args.no_mace and mace_error is None

    print("\nInference, energy + forces + stress: least CPU time of one call, atoms per CPU "
          "second,\nspeed-up over MACE (MACE time / this time), and the least wall time\n")
    header = (f"{'structure':<10} {'N':>5} {'method':<38} {'CPU (s)':>9} {'atoms/s':>9} "
              f"{'vs MACE':>8} {'wall (s)':>9}")
    print(header)
    print("-" * len(header))
    mace_atoms_per_s = None
    for name, atoms in structures().items():
        times = ionnp_inference(atoms, settings, args.repeats)
        mace_time = None
        if use_mace:
            mace_time, mace_no_graph, mace_params = mace_inference(atoms, settings.descriptors.cutoff,
                                                                   args.repeats)
            times[f"MACE ({mace_params} parameters)"] = mace_time
            times["MACE without its neighbour list"] = mace_no_graph
            if name == "wurtzite":
                mace_atoms_per_s = len(atoms) / mace_time
        walls = WALL[-len(times):]
        for (method, seconds), wall in zip(times.items(), walls):
            ratio = f"{mace_time / seconds:8.2f}" if mace_time and method.startswith("ionnp") else ""
            print(f"{name:<10} {len(atoms):>5} {method:<38} {seconds:9.4f} "
                  f"{len(atoms) / seconds:9.0f} {ratio:>8} {wall:9.4f}")

    frames = training_batch()
    n = sum(len(a) for a in frames)
    print(f"\nTraining step (batch of {len(frames)} × {len(frames[0])} atoms: E, F, σ loss, "
          "backward, AdamW)\n")
    ionnp_step = ionnp_training_step(frames, settings, args.repeats)
    print(f"{'ionnp 1 model':<38} {ionnp_step:9.4f} s CPU {n / ionnp_step:9.0f} atoms/s  "
          f"(wall {WALL[-1]:.4f} s)")
    if use_mace:
        mace_step = mace_training_step(frames, settings.descriptors.cutoff, args.repeats)
        print(f"{'MACE':<38} {mace_step:9.4f} s CPU {n / mace_step:9.0f} atoms/s  "
              f"(wall {WALL[-1]:.4f} s)")
        print(f"{'ratio (MACE time / ionnp time)':<38} {mace_step / ionnp_step:9.2f}")

    if not args.no_scaling:
        scaling_rows(settings, args.md_steps, args.repeats, mace_atoms_per_s)
    if args.no_md:
        return
    print(f"\nMD, NVE, q = {MD_CHARGE}: least CPU time per step, steps per CPU second, speed-up "
          f"over ASE at ε=1e-8\n(ASE time / this time), and the least wall time per step; "
          f"{args.md_steps} steps per call\n")
    header = (f"{'structure':<10} {'N':>5} {'method':<38} {'CPU (s)':>9} {'steps/s':>9} "
              f"{'vs ASE':>8} {'wall (s)':>9}")
    print(header)
    print("-" * len(header))
    for atoms in md_cells():
        times = md_step_times(atoms, settings, args.md_steps, args.repeats)
        ase_time = times["ASE VelocityVerlet, Coulomb ε=1e-8"][0]
        for method, (seconds, wall) in times.items():
            print(f"{'wurtzite':<10} {len(atoms):>5} {method:<38} {seconds:9.4f} "
                  f"{1 / seconds:9.2f} {ase_time / seconds:8.2f} {wall:9.4f}")


if __name__ == "__main__":
    main()
