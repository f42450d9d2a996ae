"""Active (error-driven) distillation: grow the DFT set round by round with the frames the
current model predicts worst (docs/method.md §2).

The labels that steer it are the empirical potential's short-range (Buckingham) labels, which
every pretraining frame carries: they cost nothing, and a frame the model cannot learn from its
neighbours' empirical labels is one whose DFT label it will not guess either. The loop:

1. a seed set, stratified FPS (:func:`ionnp.distill.selection.select_stratified`);
2. train a small ensemble of short-range models on the selected frames' labels;
3. score every remaining candidate — its error against its own empirical label
   (``acquisition: error``) or the ensemble's disagreement (``acquisition: disagreement``, what
   one would use where no cheap label exists) — energy per atom and forces, each divided by its
   median over the candidates and summed;
4. take the next batch by FPS among the twice-as-many worst candidates (the worst first), so
   that one round does not spend its budget on near-copies of one bad region;
5. repeat until the DFT budget is spent. The models' errors on the whole candidate pool after
   every round form the learning curve (the paper's Fig. 2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from ase import Atoms

from ionnp.distill.fps import FpsResult, coverage_distances, farthest_point_sampling, standardise
from ionnp.distill.selection import Selection, select_stratified, strata
from ionnp.nnp.graph import Graph
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel
from ionnp.train.ensemble import train_ensemble
from ionnp.train.settings import TrainingSettings
from ionnp.train.targets import Sample, pretrain_samples, sample_chunks

#: Ways to score a candidate: its error against its own empirical label, or the ensemble's spread.
ACQUISITIONS = ("error", "disagreement")

#: Trains the proxy ensemble on the selected samples; returns its members.
Trainer = Callable[[Sequence[Sample]], Sequence[ShortRangeModel]]


@dataclass(frozen=True)
class ActiveSettings:
    """The rounds of active distillation (``distill.active``).

    Attributes:
        n_seed: structures picked by stratified FPS before the first round.
        rounds: rounds that add the rest of the DFT budget, in batches as equal as possible.
        acquisition: one of :data:`ACQUISITIONS`.
        training: the proxy models' training (the A-Train recipe, few epochs).
        ensemble_size: members of the proxy ensemble (≥ 2 for ``disagreement``).
        baseline: also measure stratified FPS's learning curve at the rounds' sizes.
    """

    n_seed: int = 8
    rounds: int = 4
    acquisition: str = "error"
    training: TrainingSettings = field(default_factory=lambda: TrainingSettings.pretraining(
        epochs=60, batch_size=8, early_stopping=60))
    ensemble_size: int = 2
    baseline: bool = True

    def __post_init__(self) -> None:
        if self.acquisition not in ACQUISITIONS:
            raise ValueError(f"distill.active.acquisition: {self.acquisition!r} is not one of {ACQUISITIONS}")
        if self.acquisition == "disagreement" and self.ensemble_size < 2:
            raise ValueError("distill.active.acquisition: disagreement needs ensemble_size ≥ 2")
        if self.n_seed < 1 or self.rounds < 1:
            raise ValueError("distill.active: n_seed and rounds must be ≥ 1")

    @classmethod
    def from_config(cls, section: dict) -> ActiveSettings:
        """From ``distill.active``: n_seed, rounds, acquisition, epochs, ensemble_size, baseline."""
        section = dict(section)
        epochs = section.pop("epochs", cls().training.epochs)
        training = replace(cls().training, epochs=epochs, early_stopping=epochs)
        return cls(training=training, **section)


@dataclass(frozen=True)
class FrameScores:
    """Per-structure errors of the ensemble mean against the labels and the ensemble's spread.

    Attributes:
        energy_error: |E − Ê|/N of the mean prediction, shape (n,), eV/atom.
        forces_error: RMS over force components of the mean prediction's error, (n,), eV/Å.
        energy_spread, forces_spread: the same for the members' standard deviation (0 for
            one member).
    """

    energy_error: np.ndarray
    forces_error: np.ndarray
    energy_spread: np.ndarray
    forces_spread: np.ndarray


def frame_scores(members: Sequence[ShortRangeModel], samples: Sequence[Sample], *,
                 max_atoms: int = 4096) -> FrameScores:
    """Errors and spread of the ensemble ``members`` on each of ``samples`` (labels needed:
    energy and forces), evaluated in batches of ≤ ``max_atoms`` atoms."""
    rows = []
    for chunk in sample_chunks(samples, max_atoms):
        graph = Graph.collate([s.graph for s in chunk])
        outputs = [m(graph, forces=True, stress=False) for m in members]
        n_atoms = graph.n_atoms.numpy()
        energy = torch.stack([o.energy for o in outputs]).double().numpy() / n_atoms   # (K, B)
        forces = torch.stack([o.forces for o in outputs]).double().numpy()             # (K, N, 3)
        ends = np.cumsum(n_atoms)
        for b, sample in enumerate(chunk):
            atoms = slice(ends[b] - n_atoms[b], ends[b])
            f = forces[:, atoms]
            rows.append((abs(energy[:, b].mean() - sample.targets.energy / n_atoms[b]),
                         np.sqrt(np.mean((f.mean(axis=0) - sample.targets.forces) ** 2)),
                         energy[:, b].std(), np.sqrt(np.mean(f.var(axis=0)))))
    return FrameScores(*np.array(rows).reshape(-1, 4).T)


def acquisition_score(scores: FrameScores, acquisition: str) -> np.ndarray:
    """One number per structure, larger = worse predicted: energy and forces terms of
    ``acquisition`` ("error" or "disagreement"), each divided by its median, summed."""
    if acquisition == "error":
        terms = (scores.energy_error, scores.forces_error)
    elif acquisition == "disagreement":
        terms = (scores.energy_spread, scores.forces_spread)
    else:
        raise ValueError(f"acquisition {acquisition!r} is not one of {ACQUISITIONS}")
    return sum(t / (np.median(t) if np.median(t) > 0 else 1.0) for t in terms)


def pick_batch(score: np.ndarray, features: np.ndarray, size: int) -> np.ndarray:
    """Indices (into ``score``) of ``size`` structures: FPS over the 2·size highest scores in the
    standardised ``features`` (shape (n, d)), starting from the highest score."""
    if not 0 < size <= len(score):
        raise ValueError(f"cannot pick {size} of {len(score)} candidates")
    worst = np.argsort(-score, kind="stable")[:min(2 * size, len(score))]
    return worst[farthest_point_sampling(features[worst], size, first=0).indices]


def batch_sizes(total: int, rounds: int) -> list[int]:
    """``total`` structures over ``rounds`` batches as equal as possible, larger ones first."""
    base, extra = divmod(total, rounds)
    return [base + (k < extra) for k in range(rounds) if base + (k < extra)]


def pool_errors(members: Sequence[ShortRangeModel], samples: Sequence[Sample]) -> dict[str, float]:
    """RMSE of the ensemble mean over ``samples``: energy (meV/atom) and forces (meV/Å)."""
    scores = frame_scores(members, samples)
    n_atoms = np.array([len(s.graph.positions) for s in samples])
    return {"energy_rmse_mev_atom": 1e3 * float(np.sqrt(np.mean(scores.energy_error**2))),
            "forces_rmse_mev_a": 1e3 * float(np.sqrt(np.average(scores.forces_error**2, weights=n_atoms)))}


@dataclass(frozen=True)
class ActiveResult:
    """The selection in pick order (indices into the candidate samples), the round each was
    picked in (0: seed), and the learning curve (one row per round: its set size and the
    whole-pool errors of the models trained on it)."""

    indices: np.ndarray
    rounds: np.ndarray
    curve: pd.DataFrame


def active_selection(samples: Sequence[Sample], features: np.ndarray, eligible: np.ndarray,
                     seed: Sequence[int], n_total: int, settings: ActiveSettings,
                     trainer: Trainer, *, log: Callable[[str], None] = print) -> ActiveResult:
    """Grow ``seed`` (indices into ``samples``) to ``n_total`` structures by active rounds.

    Args:
        samples: every candidate structure with its empirical labels; the whole-pool errors
            of the learning curve are taken over all of them.
        features: standardised structure features, shape (len(samples), d).
        eligible: bool per sample: may be picked (the caps on pressure and contacts).
        seed: the first picks.
        n_total: size of the final selection.
        settings: rounds and acquisition.
        trainer: trains the proxy ensemble on the selected samples (see :func:`proxy_trainer`).

    Raises:
        ValueError: fewer eligible candidates than ``n_total``.
    """
    eligible = np.asarray(eligible, dtype=bool)
    if eligible.sum() < n_total:
        raise ValueError(f"{n_total} structures asked for, but only {eligible.sum()} pass the caps")
    selected, picked_in = list(map(int, seed)), [0] * len(seed)
    curve = []
    sizes = batch_sizes(n_total - len(selected), settings.rounds)
    for round_ in range(len(sizes) + 1):
        members = trainer([samples[i] for i in selected])
        errors = pool_errors(members, samples)
        curve.append({"round": round_, "n_selected": len(selected), **errors})
        log(f"active round {round_}: {len(selected)} selected, whole-pool RMSE "
            f"{errors['energy_rmse_mev_atom']:.1f} meV/atom, {errors['forces_rmse_mev_a']:.0f} meV/Å")
        if round_ == len(sizes):
            break
        candidates = np.flatnonzero(eligible & ~np.isin(np.arange(len(samples)), selected))
        scores = frame_scores(members, [samples[i] for i in candidates])
        batch = candidates[pick_batch(acquisition_score(scores, settings.acquisition),
                                      features[candidates], sizes[round_])]
        selected += batch.tolist()
        picked_in += [round_ + 1] * len(batch)
    return ActiveResult(np.array(selected), np.array(picked_in), pd.DataFrame(curve))


def proxy_trainer(elements: Sequence[str], model_settings: ModelSettings,
                  settings: ActiveSettings, seed: int, device: torch.device | str = "cpu") -> Trainer:
    """The trainer of :func:`active_selection`: ``settings.ensemble_size`` models of
    ``model_settings`` trained from scratch (no validation split: every selected frame
    teaches) by ``settings.training``, seeded by ``seed`` in every round (so that two
    selections of equal size are compared on equal terms), on ``device``."""
    members_settings = replace(model_settings, ensemble_size=settings.ensemble_size)
    training = replace(settings.training, seed=seed)

    def train(selected: Sequence[Sample]) -> Sequence[ShortRangeModel]:
        potential, _ = train_ensemble(elements, members_settings, training, selected, [], device=device)
        return list(potential.members)

    return train


@dataclass(frozen=True)
class ActiveDistillation:
    """What ``distill.method: active`` picked: the selection (pool indices), the round of each
    DFT pick, and the learning curves of the active picks and of stratified FPS at the same
    sizes (None without ``baseline``)."""

    selection: Selection
    rounds: np.ndarray
    curve: pd.DataFrame
    baseline: pd.DataFrame | None


def distill_active(pool: Sequence[Atoms], features: np.ndarray, eligible: np.ndarray, n_pretrain: int,
                   n_dft: int, settings: ActiveSettings, model_settings: ModelSettings,
                   elements: Sequence[str], *, seed: int = 0, log: Callable[[str], None] = print,
                   device: torch.device | str = "cpu") -> ActiveDistillation:
    """The pretraining set by FPS over the pool, a stratified seed of ``settings.n_seed`` DFT
    frames within it, grown to ``n_dft`` by :func:`active_selection` on the Buckingham labels
    of the pretraining frames (which the learning curves are measured on).

    Args:
        pool: the sampled frames with their empirical labels and run metadata.
        features: raw structure features of the pool, shape (len(pool), d).
        eligible: bool per pool frame: within the caps on pressure and contacts.
        device: where the proxy models train (``train.device``).
    """
    if not settings.n_seed < n_dft:
        raise ValueError(f"distill.active.n_seed = {settings.n_seed} must be below distill.n_dft = {n_dft}")
    scaled = standardise(features)
    labels = strata(pool)
    first = select_stratified(features, labels, eligible, n_pretrain, settings.n_seed)
    members = first.pretrain.indices
    position = {int(p): k for k, p in enumerate(members)}
    samples = pretrain_samples([pool[i] for i in members], elements, model_settings.descriptors.cutoff)
    trainer = proxy_trainer(elements, model_settings, settings, seed, device)
    result = active_selection(samples, scaled[members], eligible[members],
                              [position[int(i)] for i in first.dft.indices], n_dft, settings, trainer,
                              log=log)
    dft = members[result.indices]
    selection = Selection(first.pretrain, FpsResult(dft, coverage_distances(scaled, dft)))
    curve = None
    if settings.baseline:
        picks = [[position[int(i)] for i in select_stratified(features, labels, eligible, n_pretrain, int(n)).dft.indices]
                 for n in result.curve.n_selected]
        curve = learning_curve(samples, picks, trainer, log=lambda line: log(f"stratified FPS, {line}"))
    return ActiveDistillation(selection, result.rounds, result.curve, curve)


def learning_curve(samples: Sequence[Sample], selections: Sequence[Sequence[int]], trainer: Trainer, *,
                   log: Callable[[str], None] = print) -> pd.DataFrame:
    """Whole-pool errors over ``samples`` of the models ``trainer`` makes from each of
    ``selections`` (indices into ``samples``): another method's curve at the active rounds'
    sizes. Columns n_selected, energy_rmse_mev_atom, forces_rmse_mev_a."""
    rows = []
    for selection in selections:
        rows.append({"n_selected": len(selection),
                     **pool_errors(trainer([samples[i] for i in selection]), samples)})
        log(f"{len(selection)} selected: whole-pool RMSE {rows[-1]['energy_rmse_mev_atom']:.1f} meV/atom, "
            f"{rows[-1]['forces_rmse_mev_a']:.0f} meV/Å")
    return pd.DataFrame(rows)


__all__ = ["ACQUISITIONS", "ActiveDistillation", "ActiveResult", "ActiveSettings", "FrameScores", "Trainer", "acquisition_score",
           "active_selection", "batch_sizes", "distill_active", "frame_scores", "learning_curve", "pick_batch", "pool_errors",
           "proxy_trainer"]
