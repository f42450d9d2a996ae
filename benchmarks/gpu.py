"""The GPU paths against the CPU, where a GPU exists (CI has none: the script says so and exits).

    python benchmarks/gpu.py [--sizes 1000 10000 100000] [--steps 20]

1. Training: one optimisation step of the default model (E, F, σ loss, backward, AdamW) on a
   batch of 8 rattled 96-atom wurtzite cells, on one CPU thread and on the GPU
   (``ionnp.train.loop.train_step``), from the same weights: the losses and the updated weights
   must agree to float32 tolerance (printed), and the times side by side.
2. MD: NVE steps of rattled wurtzite at ``--sizes`` atoms in a plain LAMMPS input with
   ``pair_style ionnp`` (PPPM 1e-5, ``nnp_throughput.plain_lammps_step_time``) on one CPU rank
   and with ``device cuda`` (one rank, one GPU):
   atom-steps per second and the ratio. The card is printed with the numbers.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import torch
from ase.build import bulk

from ionnp.chemistry import Chemistry
from ionnp.deploy.export import export_model
from ionnp.nnp.graph import build_graph
from ionnp.nnp.potential import NNPotential
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel
from ionnp.train.loop import train_step
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import Sample, Targets
from nnp_throughput import plain_lammps_step_time  # benchmarks/, next to this script

ZNO = Chemistry.from_charges({"Zn": 2.0, "O": -2.0})


def training_step(device: str, model: ShortRangeModel, samples: list[Sample]) -> tuple[float, float, ShortRangeModel]:
    """(loss, seconds, updated model) of one step on ``device`` from a copy of ``model``."""
    model = copy.deepcopy(model).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    settings = TrainingSettings.pretraining()
    train_step(model, optimizer, samples, settings)  # warm-up (CUDA context, kernels)
    model = copy.deepcopy(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    loss = train_step(model, optimizer, samples, settings)
    if device == "cuda":
        torch.cuda.synchronize()
    return loss, time.perf_counter() - start, model.to("cpu")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f"no GPU visible to torch {torch.__version__}: nothing to measure (set up the CUDA build "
              "with IONNP_TORCH=cuda bash scripts/setup.sh on a GPU node)")
        return 0
    torch.set_num_threads(1)
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}")

    frames = []
    for k in range(8):
        atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat((4, 3, 2))
        atoms.rattle(0.1, seed=k)
        frames.append(atoms)
    settings = ModelSettings()
    torch.manual_seed(0)
    model = ShortRangeModel(ZNO.elements, settings)
    model.fit_normalisation(build_graph(frames, ZNO.elements, model.cutoff))
    samples = [Sample(build_graph(a, ZNO.elements, model.cutoff),
                      Targets(energy=-4.0 * len(a), forces=0.1 * a.positions, stress=None, energies=None))
               for a in frames]
    cpu_loss, cpu_time, cpu_model = training_step("cpu", model, samples)
    gpu_loss, gpu_time, gpu_model = training_step("cuda", model, samples)
    difference = max(float((a - b).abs().max()) for a, b in zip(cpu_model.parameters(), gpu_model.parameters()))
    print(f"\nTraining step, 8 x 96 atoms: CPU (1 thread) {cpu_time:.4f} s, GPU {gpu_time:.4f} s, "
          f"speed-up {cpu_time / gpu_time:.1f}; loss {cpu_loss:.6e} vs {gpu_loss:.6e}, largest weight "
          f"difference after the step {difference:.1e}")

    potential = NNPotential.create(ZNO.elements, settings, charge=0.9, unit_charges=ZNO.unit_charge)
    for member in potential.members:
        member.load_state_dict(model.state_dict())
    print(f"\nMD (NVE, pair_style ionnp + PPPM 1e-5), atom-steps/s\n\n{'N':>7} {'CPU 1 rank':>11} "
          f"{'GPU':>11} {'GPU/CPU':>8}")
    with tempfile.TemporaryDirectory() as directory:
        model_file = Path(directory) / "model.pt"
        export_model(potential, model_file)
        for size in args.sizes:
            cells = max(1, round((size / 4) ** (1 / 3)))
            atoms = bulk("ZnO", "wurtzite", a=3.25, c=5.2).repeat((cells, cells, cells))
            atoms.rattle(0.05, seed=1)
            cpu = len(atoms) / plain_lammps_step_time(model_file, atoms, max(2, args.steps // 10))
            gpu = len(atoms) / plain_lammps_step_time(model_file, atoms, args.steps, device="cuda")
            print(f"{len(atoms):>7} {cpu:11.0f} {gpu:11.0f} {gpu / cpu:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
