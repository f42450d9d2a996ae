"""Training checkpoints that know what produced them.

A checkpoint holds the model, optimizer, scheduler, history and best weights of a run after an
epoch, and the run's :func:`training_fingerprint` (settings, model settings and elements, the
samples' structures and targets, the start weights). :func:`read_checkpoint` returns it only to
the same run; for any other it logs which part differs and returns None, so a changed DFT set,
number of epochs or charge never resumes from stale weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ionnp.io import atomic_path
from ionnp.nnp.short_range import ShortRangeModel, clone_state
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import Sample

log = logging.getLogger(__name__)


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


def read_checkpoint(path: str | os.PathLike | None, fingerprint: Mapping[str, str],
                     name: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists and carries ``fingerprint``; else None (and a
    log line naming the parts that differ)."""
    if path is None or not Path(path).exists():
        return None
    try:
        saved = torch.load(path, weights_only=True, map_location="cpu")
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


def write_checkpoint(path: str | os.PathLike, model: ShortRangeModel,
                      optimizer: torch.optim.Optimizer, scheduler: Any, state: dict[str, Any],
                      fingerprint: Mapping[str, str]) -> None:
    payload = dict(state, model=clone_state(model), optimizer=optimizer.state_dict(),
                   scheduler=scheduler.state_dict(), fingerprint=dict(fingerprint))
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


__all__ = ["read_checkpoint", "remove_checkpoints", "training_fingerprint", "write_checkpoint"]
