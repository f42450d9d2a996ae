"""Settings of one training run: optimisation, loss weights, freezing (docs/method.md §6–7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Names of the layers :attr:`TrainingSettings.freeze` may name (besides integer indices).
LAYER_NAMES = {"first": 0, "last": -1}

#: The loss weights of fine-tuning on DFT labels (energy per atom, forces, virial per atom; DFT
#: has no per-atom energies): what the learnability scan takes from ``train.finetune``.
FINETUNE_LOSS_WEIGHTS = ("energy_weight", "forces_weight", "stress_weight")


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
        shrink, perturb: a fine-tuning start's weights become shrink·θ + perturb·θ_fresh
            (:func:`ionnp.train.transfer.shrink_perturb`; 1 and 0: as pretrained).
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
    shrink: float = 1.0
    perturb: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "freeze", tuple(self.freeze))
        for layer in self.freeze:
            if not isinstance(layer, int) and layer not in LAYER_NAMES:
                raise ValueError(f"freeze: {layer!r} is neither an index nor one of {sorted(LAYER_NAMES)}")
        if self.batch_size < 1 or self.epochs < 0:
            raise ValueError("batch_size must be ≥ 1 and epochs ≥ 0")
        if not 0.0 < self.shrink <= 1.0 or self.perturb < 0.0:
            raise ValueError(f"shrink must be in (0, 1] and perturb ≥ 0, not {self.shrink}, {self.perturb}")

    @classmethod
    def from_config(cls, section: Mapping[str, Any], *, finetune: bool = False) -> TrainingSettings:
        """From a ``train.pretrain`` or (``finetune=True``) ``train.finetune`` section;
        keys it lacks take the values of that stage's recipe."""
        return cls.finetuning(**section) if finetune else cls.pretraining(**section)

    @classmethod
    def pretraining(cls, **changes: Any) -> TrainingSettings:
        """The A-Train recipe: E 1.0, F 0.1, virial 0.025, lr 1e-3, per-atom energies 1.0.
        ``shrink`` and ``perturb`` move a fine-tuning start and are refused here."""
        if {"shrink", "perturb"} & set(changes):
            raise ValueError("train.pretrain: shrink and perturb apply to train.finetune only "
                             "(pretraining starts from fresh weights)")
        return cls(**changes)

    @classmethod
    def finetuning(cls, **changes: Any) -> TrainingSettings:
        """The transfer recipe: first and last layers frozen, lr 1e-4, E 0.2, F 0.4, virial 0.4
        (no per-atom energies: DFT has none)."""
        recipe = dict(learning_rate=1e-4, energy_weight=0.2, forces_weight=0.4, stress_weight=0.4,
                      atomic_energy_weight=0.0, freeze=("first", "last"))
        return cls(**{**recipe, **changes})


__all__ = ["FINETUNE_LOSS_WEIGHTS", "LAYER_NAMES", "TrainingSettings"]
