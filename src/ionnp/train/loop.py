"""Training the NNP: targets, data sets, the training loop, pretraining and fine-tuning.

Targets (docs/method.md §6–7):

* A-Train (pretraining) at effective charge q on empirical frames
  (:func:`ionnp.sampling.labels.label_frame`): the empirical potential's residual at q,
  y_emp − q² y_C(1) = y_Buck + (z² − q²) y_C(1), for per-atom energies, total, forces and
  stress, z the formal charge (``potential.charges``). y_Buck are the Buckingham labels
  (``arrays['buck_energies']``, ``info['buck_energy']``, ``arrays['buck_forces']``,
  ``info['buck_stress']``), y_C(1) the unit-charge Ewald result with per-atom energies q_i φ_i.
  A model pretrained at q plus q² E_C(1) is the empirical potential, so fine-tuning at q
  starts one E_DFT − E_emp away from its target at every q (docs/method.md).
* Fine-tuning on DFT frames at effective charge q: y(q) = y_DFT − q² y_C(1) for the energy,
  forces and stress, y_DFT from the frame's calculator and y_C(1) a precomputed unit-charge
  :class:`~ionnp.charges.coulomb.CoulombResult`.

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

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from ase.units import GPa

from ionnp.nnp.graph import Graph
from ionnp.nnp.short_range import ShortRangeModel, clone_state
from ionnp.train.checkpoints import read_checkpoint, training_fingerprint, write_checkpoint
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import Sample, sample_chunks
from ionnp.train.transfer import freeze_layers

log = logging.getLogger(__name__)


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

    def to(self, device: torch.device) -> _Batch:
        moved = {name: getattr(self, name).to(device) for name in self.__dataclass_fields__}
        return _Batch(**moved)


def _collate(samples: Sequence[Sample], model: ShortRangeModel) -> _Batch:
    """The batch of ``samples``, built on the CPU and moved to the model's device."""
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
    ).to(model.feature_mean.device)


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
    for chunk in sample_chunks(samples, max_atoms):
        _loss(model, _collate(chunk, model), settings, train=False, errors=errors)
    return errors.row()


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
    device: torch.device | str = "cpu",
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
        device: where the steps run (:func:`ionnp.runtime.training_device`); batches are built
            on the CPU and moved there, and the model comes back on the CPU.
    """
    if not train_set:
        raise ValueError("empty training set")
    model.to(device)
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
    saved = read_checkpoint(checkpoint, fingerprint, name)
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
            write_checkpoint(checkpoint, model, optimizer, scheduler, state, fingerprint)
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
    model.to("cpu")
    model.eval()
    return TrainResult(model, pd.DataFrame(state["history"]), state["best_epoch"],
                       state["stopped_early"])


__all__ = ["TrainResult", "evaluate", "train", "train_step"]
