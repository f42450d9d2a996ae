"""Training the NNP: targets, data sets, the training loop, pretraining and fine-tuning.

Targets (docs/method.md §6–7):

* A-Train (pretraining) at effective charge q on empirical frames
  (:func:`ionnp.sampling.label_frame`): the empirical potential's residual at q,
  y_emp − q² y_C(1) = y_Buck + (z² − q²) y_C(1), for per-atom energies, total, forces and
  stress, z the formal charge (``potential.charges``). y_Buck are the Buckingham labels
  (``arrays['buck_energies']``, ``info['buck_energy']``, ``arrays['buck_forces']``,
  ``info['buck_stress']``), y_C(1) the unit-charge Ewald result with per-atom energies q_i φ_i.
  A model pretrained at q plus q² E_C(1) is the empirical potential, so fine-tuning at q
  starts one E_DFT − E_emp away from its target at every q (docs/method.md).
* Fine-tuning on DFT frames at effective charge q: y(q) = y_DFT − q² y_C(1) for the energy,
  forces and stress, y_DFT from the frame's calculator and y_C(1) a precomputed unit-charge
  :class:`~ionnp.coulomb.CoulombResult`.

Loss (per batch of structures; weights from :class:`TrainingSettings`):

    L = w_E ⟨((E − Ê)/N)²⟩ + w_F ⟨(F − F̂)²⟩ + w_σ ⟨((σ − σ̂) V/N)²⟩ + w_ε ⟨(ε − ε̂)²⟩

energies per atom (eV/atom), force components (eV/Å), the virial per atom (eV/atom, all six
Voigt components) and per-atom energies (eV, A-Train only). Terms whose labels a structure
lacks are left out for that structure.

The loop: AdamW, ReduceLROnPlateau on the validation loss, early stopping, the best weights
(lowest validation loss) kept and returned. Every epoch ends by writing a checkpoint (model,
optimizer, scheduler, history, best weights) with the fingerprint of what produced it
(:func:`training_fingerprint`: settings, model settings, elements, the samples' structures and
targets, the start weights); :func:`train` given a checkpoint continues from it only if the
fingerprint matches, and otherwise starts afresh and logs which part differs. The batches of
epoch e are a permutation drawn from a generator seeded by (seed, e), so a resumed run repeats
an uninterrupted one exactly.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from ase import Atoms
from ase.units import GPa

from ionnp.coulomb import CoulombResult
from ionnp.io import atomic_path
from ionnp.model import (
    Graph,
    ModelSettings,
    NNPotential,
    ShortRangeModel,
    build_graph,
    clone_state,
    composition_counts,
)

log = logging.getLogger(__name__)

#: Names of the layers :attr:`TrainingSettings.freeze` may name (besides integer indices).
LAYER_NAMES = {"first": 0, "last": -1}


@dataclass(frozen=True)
class TrainingSettings:
    """One training run (defaults: the pretraining recipe of docs/method.md §6).

    Attributes:
        epochs: maximum number of passes over the training set.
        batch_size: structures per optimisation step.
        learning_rate: AdamW's initial learning rate.
        weight_decay: AdamW's decoupled weight decay.
        energy_weight, forces_weight, stress_weight, atomic_energy_weight: loss weights of
            the energy per atom, force components, virial per atom and per-atom energies.
        lr_factor, lr_patience, min_lr: ReduceLROnPlateau on the validation loss.
        early_stopping: stop after this many epochs without a better validation loss.
        valid_fraction: share of the structures held out for validation (:func:`split`).
        freeze: layers of every element network kept fixed: "first", "last" or indices of
            the Linear layers (0 = input layer).
        max_grad_norm: gradient clipping (None: none).
        seed: initialisation (member k of an ensemble uses seed + k), split and shuffling.
    """

    epochs: int = 500
    batch_size: int = 8
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    energy_weight: float = 1.0
    forces_weight: float = 0.1
    stress_weight: float = 0.025
    atomic_energy_weight: float = 1.0
    lr_factor: float = 0.5
    lr_patience: int = 10
    min_lr: float = 1e-6
    early_stopping: int = 40
    valid_fraction: float = 0.1
    freeze: tuple[str | int, ...] = ()
    max_grad_norm: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "freeze", tuple(self.freeze))
        for layer in self.freeze:
            if not isinstance(layer, int) and layer not in LAYER_NAMES:
                raise ValueError(f"freeze: {layer!r} is neither an index nor one of {sorted(LAYER_NAMES)}")
        if self.batch_size < 1 or self.epochs < 0:
            raise ValueError("batch_size must be ≥ 1 and epochs ≥ 0")

    @classmethod
    def from_config(cls, section: Mapping[str, Any], *, finetune: bool = False) -> TrainingSettings:
        """From a ``training.pretrain`` or (``finetune=True``) ``training.finetune`` section;
        keys it lacks take the values of that stage's recipe."""
        return cls.finetuning(**section) if finetune else cls.pretraining(**section)

    @classmethod
    def pretraining(cls, **changes: Any) -> TrainingSettings:
        """The A-Train recipe: E 1.0, F 0.1, virial 0.025, lr 1e-3, per-atom energies 1.0."""
        return cls(**changes)

    @classmethod
    def finetuning(cls, **changes: Any) -> TrainingSettings:
        """The transfer recipe: first and last layers frozen, lr 1e-4, E 0.2, F 0.4, virial 0.4
        (no per-atom energies: DFT has none)."""
        recipe = dict(learning_rate=1e-4, energy_weight=0.2, forces_weight=0.4, stress_weight=0.4,
                      atomic_energy_weight=0.0, freeze=("first", "last"))
        return cls(**{**recipe, **changes})


# --------------------------------------------------------------------------------------------
# Targets and samples.


@dataclass(frozen=True)
class Targets:
    """Labels of one structure: energy (eV), forces (N, 3) eV/Å, stress (6,) eV/Å³ (ASE sign,
    Voigt), per-atom energies (N,) eV; None where a label is missing."""

    energy: float
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    energies: np.ndarray | None = None


@dataclass(frozen=True)
class Sample:
    """A structure as a graph (neighbour list built once) with its targets."""

    graph: Graph
    targets: Targets


def coulomb_factor(charge: float, formal_charge: float) -> float:
    """z² − q²: the multiple of E_C(1) that the A-Train target at effective charge q = ``charge``
    keeps of the empirical potential's Coulomb energy at formal charge z."""
    return formal_charge**2 - charge**2


def pretrain_targets(atoms: Atoms, coulomb_unit: CoulombResult | None = None,
                     factor: float = 0.0) -> Targets:
    """A-Train targets of an empirical frame: y_Buck + ``factor`` · y_C(1) (y = per-atom E,
    E, F, σ), ``factor`` = :func:`coulomb_factor` (0: the Buckingham labels alone, i.e. q = z).

    Raises:
        KeyError: the frame lacks Buckingham labels.
        ValueError: ``factor`` ≠ 0 without a unit-charge result with per-atom energies.
    """
    info, arrays = atoms.info, atoms.arrays
    missing = [k for k in ("buck_energy", "buck_stress") if k not in info]
    missing += [k for k in ("buck_energies", "buck_forces") if k not in arrays]
    if missing:
        raise KeyError(f"{atoms.get_chemical_formula()}: frame lacks A-Train labels {missing}")
    targets = Targets(
        energy=float(info["buck_energy"]),
        forces=np.asarray(arrays["buck_forces"], dtype=float),
        stress=np.asarray(info["buck_stress"], dtype=float).reshape(6),
        energies=np.asarray(arrays["buck_energies"], dtype=float),
    )
    if factor == 0.0:
        return targets
    if coulomb_unit is None or coulomb_unit.energies is None:
        raise ValueError(f"{atoms.get_chemical_formula()}: A-Train at q ≠ z needs the unit-charge "
                         "Coulomb result with per-atom energies")
    c = coulomb_unit
    return Targets(energy=targets.energy + factor * c.energy, forces=targets.forces + factor * c.forces,
                   stress=targets.stress + factor * c.stress,
                   energies=targets.energies + factor * c.energies)


def finetune_targets(atoms: Atoms, coulomb_unit: CoulombResult, charge: float) -> Targets:
    """Short-range targets at effective charge q: y_DFT − q² y_C(1) (y = E, F, σ).

    DFT labels come from ``atoms.calc`` (energy and forces required, stress if present).
    """
    if atoms.calc is None:
        raise ValueError(f"{atoms.get_chemical_formula()}: frame has no DFT labels")
    c = coulomb_unit.scaled(charge)
    results = atoms.calc.results
    stress = results.get("stress")
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
        if stress.shape == (3, 3):
            stress = stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        stress = stress - c.stress
    return Targets(
        energy=float(atoms.get_potential_energy()) - c.energy,
        forces=np.asarray(atoms.get_forces(), dtype=float) - c.forces,
        stress=stress,
    )


def make_samples(frames: Sequence[Atoms], targets: Sequence[Targets], elements: Sequence[str],
                 cutoff: float) -> list[Sample]:
    """Samples of ``frames`` (neighbour lists within ``cutoff``) with ``targets``."""
    if len(frames) != len(targets):
        raise ValueError(f"{len(frames)} frames but {len(targets)} targets")
    return [Sample(build_graph(a, elements, cutoff), t) for a, t in zip(frames, targets)]


def pretrain_samples(frames: Sequence[Atoms], elements: Sequence[str], cutoff: float, *,
                     coulomb_units: Sequence[CoulombResult] | None = None,
                     factor: float = 0.0) -> list[Sample]:
    """A-Train samples of empirical frames (targets of :func:`pretrain_targets`)."""
    units = [None] * len(frames) if coulomb_units is None else list(coulomb_units)
    if len(units) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(units)} Coulomb results")
    return make_samples(frames, [pretrain_targets(a, c, factor) for a, c in zip(frames, units)],
                        elements, cutoff)


def finetune_samples(frames: Sequence[Atoms], coulomb_units: Sequence[CoulombResult], charge: float,
                     elements: Sequence[str], cutoff: float) -> list[Sample]:
    """Fine-tuning samples of DFT frames at effective charge ``charge``."""
    if len(frames) != len(coulomb_units):
        raise ValueError(f"{len(frames)} frames but {len(coulomb_units)} Coulomb results")
    targets = [finetune_targets(a, c, charge) for a, c in zip(frames, coulomb_units)]
    return make_samples(frames, targets, elements, cutoff)


def split(n: int, valid_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (train, valid) indices of n items; at least one of each when n ≥ 2."""
    order = np.random.default_rng(seed).permutation(n)
    n_valid = int(round(valid_fraction * n))
    if valid_fraction > 0 and n >= 2:
        n_valid = min(max(n_valid, 1), n - 1)
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


# --------------------------------------------------------------------------------------------
# Batches and the loss.


@dataclass(frozen=True)
class _Batch:
    graph: Graph
    energy: torch.Tensor          # (B,) float64, shift removed
    forces: torch.Tensor          # (N, 3)
    has_forces: torch.Tensor      # (N,) bool
    stress: torch.Tensor          # (B, 6)
    has_stress: torch.Tensor      # (B,) bool
    energies: torch.Tensor        # (N,), shift removed
    has_energies: torch.Tensor    # (N,) bool


def _collate(samples: Sequence[Sample], model: ShortRangeModel) -> _Batch:
    graph = Graph.collate([s.graph for s in samples])
    dtype = model.dtype
    shift = model.energy_shift
    forces, stress, energies, has_f, has_s, has_e = [], [], [], [], [], []
    for s in samples:
        n, t = len(s.graph.positions), s.targets
        has_f.append(torch.full((n,), t.forces is not None))
        forces.append(torch.zeros(n, 3, dtype=torch.float64) if t.forces is None
                      else torch.as_tensor(t.forces, dtype=torch.float64))
        has_s.append(t.stress is not None)
        stress.append(torch.zeros(6, dtype=torch.float64) if t.stress is None
                      else torch.as_tensor(t.stress, dtype=torch.float64))
        has_e.append(torch.full((n,), t.energies is not None))
        energies.append(torch.zeros(n, dtype=torch.float64) if t.energies is None
                        else torch.as_tensor(t.energies, dtype=torch.float64) - shift[s.graph.species])
    energy = torch.tensor([s.targets.energy for s in samples], dtype=torch.float64)
    return _Batch(
        graph=graph,
        energy=(energy - model.shift_energies(graph)).to(dtype),
        forces=torch.cat(forces).to(dtype), has_forces=torch.cat(has_f),
        stress=torch.stack(stress).to(dtype), has_stress=torch.tensor(has_s),
        energies=torch.cat(energies).to(dtype), has_energies=torch.cat(has_e),
    )


class _Errors:
    """Sums of squared errors for RMSEs (meV/atom, meV/Å, GPa, meV) and of the loss."""

    def __init__(self) -> None:
        self.sums = dict(energy=0.0, forces=0.0, stress=0.0, energies=0.0, loss=0.0)
        self.counts = dict(energy=0, forces=0, stress=0, energies=0, loss=0)

    def add(self, key: str, squared: torch.Tensor) -> None:
        self.sums[key] += float(squared.detach().sum())
        self.counts[key] += squared.numel()

    def rmse(self, key: str) -> float:
        count = self.counts[key]
        return float(np.sqrt(self.sums[key] / count)) if count else float("nan")

    def row(self, prefix: str = "") -> dict[str, float]:
        loss = self.sums["loss"] / self.counts["loss"] if self.counts["loss"] else float("nan")
        return {
            f"{prefix}loss": loss,
            f"{prefix}energy_rmse_mev_atom": 1e3 * self.rmse("energy"),
            f"{prefix}forces_rmse_mev_a": 1e3 * self.rmse("forces"),
            f"{prefix}stress_rmse_gpa": self.rmse("stress") / GPa,
            f"{prefix}energies_rmse_mev": 1e3 * self.rmse("energies"),
        }


def _loss(model: ShortRangeModel, batch: _Batch, settings: TrainingSettings, *, train: bool,
          errors: _Errors) -> torch.Tensor:
    """Weighted loss of one batch; adds the squared errors to ``errors``."""
    s = settings
    want_f = s.forces_weight > 0 or not train
    want_s = (s.stress_weight > 0 or not train) and bool(batch.has_stress.any())
    out = model(batch.graph, forces=want_f, stress=want_s, create_graph=train, shifted=False)
    n_atoms = batch.graph.n_atoms.to(out.energy.dtype)
    e_err = (out.energy - batch.energy) / n_atoms
    loss = s.energy_weight * (e_err**2).mean()
    errors.add("energy", e_err**2)
    if want_f and batch.has_forces.any():
        f_err = (out.forces - batch.forces)[batch.has_forces]
        loss = loss + s.forces_weight * (f_err**2).mean()
        errors.add("forces", f_err**2)
    if want_s:
        s_err = (out.stress - batch.stress)[batch.has_stress]
        errors.add("stress", s_err**2)
        volume_per_atom = (batch.graph.volumes.to(out.energy.dtype) / n_atoms)[batch.has_stress]
        loss = loss + s.stress_weight * ((s_err * volume_per_atom[:, None]) ** 2).mean()
    if batch.has_energies.any():
        a_err = (out.energies - batch.energies)[batch.has_energies]
        errors.add("energies", a_err**2)
        if s.atomic_energy_weight > 0:
            loss = loss + s.atomic_energy_weight * (a_err**2).mean()
    errors.add("loss", loss.detach().reshape(1))
    return loss


def train_step(model: ShortRangeModel, optimizer: torch.optim.Optimizer, samples: Sequence[Sample],
               settings: TrainingSettings, *, errors: _Errors | None = None) -> float:
    """One optimisation step on a batch of ``samples``; returns the batch loss."""
    batch = _collate(samples, model)
    optimizer.zero_grad(set_to_none=True)
    loss = _loss(model, batch, settings, train=True, errors=errors if errors is not None else _Errors())
    loss.backward()
    if settings.max_grad_norm is not None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
    optimizer.step()
    return float(loss.detach())


def evaluate(model: ShortRangeModel, samples: Sequence[Sample], settings: TrainingSettings,
             *, max_atoms: int = 4096) -> dict[str, float]:
    """Loss and RMSEs of ``model`` on ``samples`` (keys as the history's ``valid_*``, without
    the prefix). The loss is the mean over batches of ≤ ``max_atoms`` atoms."""
    errors = _Errors()
    for chunk in _sample_chunks(samples, max_atoms):
        _loss(model, _collate(chunk, model), settings, train=False, errors=errors)
    return errors.row()


def _sample_chunks(samples: Sequence[Sample], max_atoms: int) -> list[list[Sample]]:
    """Consecutive groups of samples with ≤ ``max_atoms`` atoms (a larger one alone)."""
    chunks: list[list[Sample]] = []
    count = 0
    for sample in samples:
        n = len(sample.graph.positions)
        if not chunks or count + n > max_atoms:
            chunks.append([])
            count = 0
        chunks[-1].append(sample)
        count += n
    return chunks


# --------------------------------------------------------------------------------------------
# Freezing and model preparation.


def freeze_layers(model: ShortRangeModel, layers: Sequence[str | int]) -> list[str]:
    """Fix the given Linear layers of every element network (``requires_grad = False``).

    Returns the names of the frozen parameters.
    """
    frozen = []
    for element in range(len(model.elements)):
        linears = model.linear_layers(element)
        for layer in layers:
            index = LAYER_NAMES[layer] if isinstance(layer, str) else int(layer)
            for p in linears[index].parameters():
                p.requires_grad_(False)
    names = {id(p): name for name, p in model.named_parameters()}
    frozen = [names[id(p)] for p in model.parameters() if not p.requires_grad]
    return frozen


def scratch_model(elements: Sequence[str], settings: ModelSettings, samples: Sequence[Sample],
                  *, seed: int = 0) -> ShortRangeModel:
    """A fresh model (initialised with ``seed``) normalised on ``samples``: feature mean/std,
    energy shift from per-atom energies where every sample has them, else from the totals."""
    torch.manual_seed(seed)
    model = ShortRangeModel(elements, settings)
    energies = None
    if all(s.targets.energies is not None for s in samples):
        energies = torch.as_tensor(np.concatenate([s.targets.energies for s in samples]))
    energy = torch.tensor([s.targets.energy for s in samples], dtype=torch.float64)
    model.fit_normalisation([s.graph for s in samples], energy=energy, energies=energies)
    return model


@torch.no_grad()
def refit_energy_shift(model: ShortRangeModel, samples: Sequence[Sample], *,
                       max_atoms: int = 4096) -> torch.Tensor:
    """Add to the per-element shift the least-squares correction of the energy offset
    between ``model`` and the samples' targets (fine-tuning starts from an empirical-scale
    model; DFT energies carry another zero). Returns the correction (eV per element)."""
    predicted = torch.cat([model(Graph.collate([s.graph for s in chunk]), forces=False,
                                 stress=False).energy.to(torch.float64)
                           for chunk in _sample_chunks(samples, max_atoms)])
    target = torch.tensor([s.targets.energy for s in samples], dtype=torch.float64)
    counts = torch.cat([composition_counts(s.graph, len(model.elements)) for s in samples])
    delta = torch.linalg.pinv(counts) @ (target - predicted)
    model.energy_shift = model.energy_shift + delta
    return delta


def finetune_model(pretrained: ShortRangeModel, samples: Sequence[Sample]) -> ShortRangeModel:
    """A copy of ``pretrained`` (weights and feature normalisation kept) with its energy
    shift refitted to ``samples``; freezing follows the training settings in :func:`train`."""
    model = copy.deepcopy(pretrained)
    for p in model.parameters():
        p.requires_grad_(True)
    refit_energy_shift(model, samples)
    return model


# --------------------------------------------------------------------------------------------
# Checkpoint fingerprints.


def _digest(*arrays: Any) -> str:
    """SHA-256 of arrays and tensors (values, dtypes and shapes), in order; None counts too."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _samples_digest(samples: Sequence[Sample]) -> str:
    parts: list[Any] = []
    for s in samples:
        g, t = s.graph, s.targets
        parts += [g.positions, g.cells, g.species, np.array([t.energy]), t.forces, t.stress,
                  t.energies]
    return _digest(*parts)


def training_fingerprint(model: ShortRangeModel, train_set: Sequence[Sample],
                         valid_set: Sequence[Sample], settings: TrainingSettings) -> dict[str, str]:
    """What a training run depends on, part by part (each a SHA-256 hex digest):
    ``settings`` (the optimisation and loss), ``model`` (architecture and elements), ``data``
    (structures and targets of the training and validation sets, in order) and ``start`` (the
    start weights, normalisation and energy shift). A checkpoint resumes only the run whose
    fingerprint it carries."""
    def text(obj: Any) -> str:
        return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()

    state = clone_state(model)
    start = _digest(*[state[k] for k in sorted(state) if isinstance(state[k], torch.Tensor)],
                    model.energy_shift)
    return {
        "settings": text(asdict(settings)),
        "model": text({"settings": model.settings.to_dict(), "elements": list(model.elements),
                       "dtype": str(model.dtype)}),
        "data": text([_samples_digest(train_set), _samples_digest(valid_set)]),
        "start": start,
    }


def remove_checkpoints(directory: str | os.PathLike) -> None:
    """Delete a checkpoint folder once the model it led to is saved (no stale state remains)."""
    shutil.rmtree(directory, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The loop.


@dataclass
class TrainResult:
    """The model with the best validation loss, the learning curve, and that epoch."""

    model: ShortRangeModel
    history: pd.DataFrame
    best_epoch: int
    stopped_early: bool


def train(
    model: ShortRangeModel,
    train_set: Sequence[Sample],
    valid_set: Sequence[Sample],
    settings: TrainingSettings,
    *,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = False,
    callback: Callable[[int, dict[str, float]], None] | None = None,
    name: str = "model",
) -> TrainResult:
    """Train ``model`` in place; return it with the best validation weights loaded.

    Args:
        model: a prepared model (:func:`scratch_model` or :func:`finetune_model`).
        train_set, valid_set: samples; an empty ``valid_set`` uses the training loss for
            the scheduler, early stopping and the best weights.
        settings: optimisation and loss; ``settings.freeze`` is applied here.
        checkpoint: file written after every epoch; if it exists and carries this run's
            :func:`training_fingerprint`, training resumes from it; a checkpoint of another run
            is ignored (and overwritten), and the log says which part differs.
        progress: show a tqdm bar over epochs (else one log line per epoch).
        callback: called after every epoch (and its checkpoint) with the epoch and its
            history row; an exception raised there stops training (resumable).
        name: used in log lines.
    """
    if not train_set:
        raise ValueError("empty training set")
    fingerprint = training_fingerprint(model, train_set, valid_set, settings)
    if settings.freeze:
        freeze_layers(model, settings.freeze)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate,
                                  weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=settings.lr_factor, patience=settings.lr_patience, min_lr=settings.min_lr)
    state = dict(epoch=0, best_loss=float("inf"), best_epoch=0, best_state=None, since_best=0,
                 history=[], stopped_early=False)
    saved = _read_checkpoint(checkpoint, fingerprint, name)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state.update({k: saved[k] for k in state})
        log.info("%s: resuming after epoch %d from %s", name, state["epoch"], checkpoint)

    epochs = range(state["epoch"] + 1, settings.epochs + 1)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc=name, initial=state["epoch"], total=settings.epochs)
    for epoch in epochs:
        if state["stopped_early"]:
            break
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(
            settings.seed * 1_000_003 + epoch)).tolist()
        errors = _Errors()
        for first in range(0, len(order), settings.batch_size):
            train_step(model, optimizer, [train_set[k] for k in order[first:first + settings.batch_size]],
                       settings, errors=errors)
        model.eval()
        row: dict[str, Any] = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"]}
        row.update(errors.row("train_"))
        if valid_set:
            row.update({f"valid_{k}": v for k, v in evaluate(model, valid_set, settings).items()})
            monitored = row["valid_loss"]
        else:
            monitored = row["train_loss"]
        row["time_s"] = time.perf_counter() - start
        scheduler.step(monitored)
        if monitored < state["best_loss"]:
            state.update(best_loss=monitored, best_epoch=epoch, since_best=0,
                         best_state=clone_state(model))
        else:
            state["since_best"] += 1
        state["epoch"] = epoch
        state["history"].append(row)
        if state["since_best"] >= settings.early_stopping:
            state["stopped_early"] = True
        if checkpoint is not None:
            _write_checkpoint(checkpoint, model, optimizer, scheduler, state, fingerprint)
        if not progress:
            log.info("%s: epoch %d lr %.2e loss %.3e/%s E %.2f F %.1f σ %.3f (valid; meV/atom, "
                     "meV/Å, GPa)", name, epoch, row["lr"], row["train_loss"],
                     f"{row.get('valid_loss', float('nan')):.3e}",
                     row.get("valid_energy_rmse_mev_atom", float("nan")),
                     row.get("valid_forces_rmse_mev_a", float("nan")),
                     row.get("valid_stress_rmse_gpa", float("nan")))
        if callback is not None:
            callback(epoch, row)
        if state["stopped_early"]:
            log.info("%s: early stop after epoch %d (best %d)", name, epoch, state["best_epoch"])
            break
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    model.eval()
    return TrainResult(model, pd.DataFrame(state["history"]), state["best_epoch"],
                       state["stopped_early"])


def _read_checkpoint(path: str | os.PathLike | None, fingerprint: Mapping[str, str],
                     name: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists and carries ``fingerprint``; else None (and a
    log line naming the parts that differ)."""
    if path is None or not Path(path).exists():
        return None
    try:
        saved = torch.load(path, weights_only=True)
    except Exception as error:  # a truncated or foreign file: start afresh, say so
        log.warning("%s: ignoring unreadable checkpoint %s (%s)", name, path, error)
        return None
    stored = saved.get("fingerprint", {})
    differ = sorted(k for k in fingerprint if stored.get(k) != fingerprint[k])
    if differ:
        log.warning("%s: ignoring checkpoint %s, written by another training run: its %s "
                    "differ from this run's; starting afresh", name, path, ", ".join(differ))
        return None
    return saved


def _write_checkpoint(path: str | os.PathLike, model: ShortRangeModel,
                      optimizer: torch.optim.Optimizer, scheduler: Any, state: dict[str, Any],
                      fingerprint: Mapping[str, str]) -> None:
    payload = dict(state, model=clone_state(model), optimizer=optimizer.state_dict(),
                   scheduler=scheduler.state_dict(), fingerprint=dict(fingerprint))
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


# --------------------------------------------------------------------------------------------
# Ensembles: pretraining, fine-tuning, from scratch.


def train_ensemble(
    elements: Sequence[str],
    model_settings: ModelSettings,
    settings: TrainingSettings,
    train_set: Sequence[Sample],
    valid_set: Sequence[Sample],
    *,
    pretrained: NNPotential | None = None,
    charge: float = 0.0,
    charge_signs: Mapping[str, float] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> tuple[NNPotential, list[pd.DataFrame]]:
    """Train ``model_settings.ensemble_size`` members; return the potential and histories.

    Member k starts from ``pretrained.members[k mod K']`` (fine-tuning: weights kept, energy
    shift refitted, ``settings.freeze`` applied) or, without ``pretrained``, from a fresh
    model seeded ``settings.seed + k`` (freezing is then ignored: random layers are not worth
    keeping). Shuffling of member k is seeded by ``settings.seed + k`` as well. Checkpoints go
    to ``checkpoint_dir/member_{k}.pt``.
    """
    members, histories = [], []
    if pretrained is None and settings.freeze:
        log.info("training from scratch: freeze=%s ignored", settings.freeze)
        settings = replace(settings, freeze=())
    for k in range(model_settings.ensemble_size):
        member_settings = replace(settings, seed=settings.seed + k)
        if pretrained is not None:
            model = finetune_model(pretrained.members[k % len(pretrained.members)], train_set)
        else:
            model = scratch_model(elements, model_settings, train_set, seed=member_settings.seed)
        checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / f"member_{k}.pt"
        result = train(model, train_set, valid_set, member_settings, checkpoint=checkpoint,
                       progress=progress, name=f"member {k}")
        members.append(result.model)
        histories.append(result.history.assign(member=k))
    return NNPotential(members, charge, charge_signs), histories


__all__ = [
    "LAYER_NAMES", "Sample", "Targets", "TrainResult", "TrainingSettings", "coulomb_factor", "evaluate",
    "finetune_model", "finetune_samples", "finetune_targets", "freeze_layers", "make_samples",
    "pretrain_samples", "pretrain_targets", "refit_energy_shift", "remove_checkpoints",
    "scratch_model", "split", "train", "train_ensemble", "train_step", "training_fingerprint",
]
