"""Training targets and samples.

* A-Train (pretraining) at effective charge q on empirical frames
  (:func:`ionnp.sampling.labels.label_frame`): the empirical potential's residual at q,
  y_emp − q² y_C(1) = y_Buck + (z² − q²) y_C(1), for per-atom energies, total, forces and
  stress, z the formal charge (``potential.charges``). y_Buck are the Buckingham labels
  (``arrays['buck_energies']``, ``info['buck_energy']``, ``arrays['buck_forces']``,
  ``info['buck_stress']``), y_C(1) the unit-charge Ewald result with per-atom energies q_i φ_i.
  A model pretrained at q plus q² E_C(1) is the empirical potential, so fine-tuning at q
  starts one E_DFT − E_emp away from its target at every q (docs/method.md §6).
* Fine-tuning on DFT frames at effective charge q: y(q) = y_DFT − q² y_C(1) for the energy,
  forces and stress, y_DFT from the frame's calculator and y_C(1) a precomputed unit-charge
  :class:`~ionnp.charges.coulomb.CoulombResult` — the one place where this residual is formed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from ionnp.charges.coulomb import CoulombResult
from ionnp.nnp.graph import Graph, batches, build_graph
from ionnp.voigt import to_voigt


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


def coulomb_factor(charge: float, reference_charge: float) -> float:
    """z_ref² − q²: the multiple of E_C(1) that the A-Train target at effective charge q =
    ``charge`` keeps of the empirical potential's Coulomb energy, z_ref² E_C(1) at the formal
    charges (z_ref = ``reference_charge``, :attr:`ionnp.chemistry.Chemistry.reference_charge`)."""
    return reference_charge**2 - charge**2


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
        forces=np.array(arrays["buck_forces"], dtype=float),
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
        stress = to_voigt(stress) - c.stress
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


def sample_chunks(samples: Sequence[Sample], max_atoms: int) -> list[list[Sample]]:
    """Consecutive groups of samples with ≤ ``max_atoms`` atoms (a larger one alone)."""
    sizes = [len(s.graph.positions) for s in samples]
    return [[samples[k] for k in group] for group in batches(sizes, max_atoms)]


__all__ = ["Sample", "sample_chunks", "Targets", "coulomb_factor", "finetune_samples", "finetune_targets",
           "make_samples", "pretrain_samples", "pretrain_targets", "split"]
