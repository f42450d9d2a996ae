"""The NNP as used: an ensemble of short-range models plus the effective-charge Coulomb term,

    E = mean_k E_NN,k + E_core + q² E_C(1),

with per-structure predictions (energy, per-atom energies, forces, stress and the ensemble
spread) as numpy, and model files (:mod:`ionnp.nnp.io`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import torch
from ase import Atoms

from ionnp.charges.coulomb import CoulombResult, coulomb
from ionnp.chemistry import Chemistry
from ionnp.io import atomic_path
from ionnp.nnp.graph import Geometry, Graph, batches, build_graph
from ionnp.nnp.io import FILE_FORMAT, FILE_VERSION, UNITS, settings_from_dict
from ionnp.nnp.prediction import Output, Prediction, split_output
from ionnp.nnp.short_range import ModelSettings, ShortRangeModel, clone_state


class NNPotential(torch.nn.Module):
    """An ensemble of short-range models plus the effective-charge Coulomb term.

    Args:
        members: K short-range models with the same elements and descriptor settings.
        charge: the effective charge q (e); 0 switches the Coulomb term off.
        unit_charges: the charge of each element in E_C(1) (e): its formal charge over the
            reference species' (:attr:`ionnp.chemistry.Chemistry.unit_charge`, e.g. Ca +1,
            F −0.5); needed for a Coulomb term (``charge`` ≠ 0).
        coulomb_accuracy: ε of :func:`ionnp.charges.coulomb.coulomb`.
    """

    def __init__(self, members: Sequence[ShortRangeModel], charge: float = 0.0,
                 unit_charges: Mapping[str, float] | None = None, *,
                 coulomb_accuracy: float = 1e-8) -> None:
        super().__init__()
        if not members:
            raise ValueError("an NNPotential needs at least one member")
        first = members[0]
        for m in members[1:]:
            if m.elements != first.elements or m.settings.descriptors != first.settings.descriptors:
                raise ValueError("ensemble members must share elements and descriptor settings")
        self.members = torch.nn.ModuleList(members)
        self.elements = first.elements
        self.charge = float(charge)
        if unit_charges is None and self.charge != 0:
            raise ValueError(f"charge {self.charge} e needs the unit charges of {self.elements}")
        if unit_charges is not None and set(unit_charges) != set(self.elements):
            raise ValueError(f"unit_charges {dict(unit_charges)} do not match elements {self.elements}")
        self.unit_charges = None if unit_charges is None else {e: float(unit_charges[e]) for e in self.elements}
        self.coulomb_accuracy = coulomb_accuracy

    @classmethod
    def create(cls, elements: Sequence[str], settings: ModelSettings = ModelSettings(),
               charge: float = 0.0, unit_charges: Mapping[str, float] | None = None, *,
               seed: int = 0) -> NNPotential:
        """``settings.ensemble_size`` freshly initialised members (member k seeded seed + k)."""
        members = []
        for k in range(settings.ensemble_size):
            torch.manual_seed(seed + k)
            members.append(ShortRangeModel(elements, settings))
        return cls(members, charge, unit_charges)

    @property
    def settings(self) -> ModelSettings:
        return replace(self.members[0].settings, ensemble_size=len(self.members))

    @property
    def cutoff(self) -> float:
        return self.members[0].cutoff

    @property
    def dtype(self) -> torch.dtype:
        return self.members[0].dtype

    def graph(self, frames: Atoms | Sequence[Atoms]) -> Graph:
        return build_graph(frames, self.elements, self.cutoff)

    def short_range(self, graph: Graph, *, forces: bool = True, stress: bool = True,
                    spread: bool = True) -> tuple[Output, Output]:
        """Ensemble mean of the short-range term, and its spread (population std over the
        members). The spread of the energies is always there; that of forces and stress only
        with ``spread`` (one backward pass per member instead of one in all), else None.

        The descriptors are computed once and shared by all members.
        """
        with torch.enable_grad():
            geometry = Geometry(graph, self.dtype, forces, stress)
            features = self.members[0].features(geometry, graph.species)
            energies = torch.stack([m.atomic_energies(features, graph.species)
                                    + m.core_energies(geometry, graph.species).to(torch.float64)
                                    for m in self.members])  # (K, N)
            energy = torch.zeros(len(self.members), graph.n_structures,
                                 dtype=energies.dtype).index_add(1, graph.batch, energies)
            k = len(self.members)
            if spread and k > 1 and (forces or stress):
                per_member = [geometry.derivatives(energy[m].sum(), forces=forces, stress=stress,
                                                   create_graph=False, retain_graph=m < k - 1)
                              for m in range(k)]
                f_all = torch.stack([p[0] for p in per_member]) if forces else None
                s_all = torch.stack([p[1] for p in per_member]) if stress else None
                f = f_all.mean(0) if forces else None
                s = s_all.mean(0) if stress else None
                f_std = f_all.std(0, correction=0) if forces else None
                s_std = s_all.std(0, correction=0) if stress else None
            else:
                f, s = geometry.derivatives(energy.mean(0).sum(), forces=forces, stress=stress,
                                            create_graph=False)
                zero = lambda t: None if t is None else torch.zeros_like(t)  # noqa: E731
                f_std, s_std = (zero(f), zero(s)) if k == 1 else (None, None)
        energies, energy = energies.detach(), energy.detach()
        mean = Output(energy.mean(0), energies.mean(0), f, s)
        std = Output(energy.std(0, correction=0), energies.std(0, correction=0), f_std, s_std)
        return mean, std

    def coulomb_unit(self, atoms: Atoms) -> CoulombResult:
        """E_C(1), F_C(1), σ_C(1) of ``atoms`` with the unit charges."""
        if self.unit_charges is None:
            raise ValueError("this model has no unit charges (made without a Coulomb term)")
        return coulomb(atoms, self.unit_charges, accuracy=self.coulomb_accuracy)

    def predict(self, atoms: Atoms, *, forces: bool = True, stress: bool = True,
                spread: bool = True, coulomb_unit: CoulombResult | None = None) -> Prediction:
        """Energy, per-atom energies, forces, stress and their ensemble spread of one structure.

        ``coulomb_unit``: a precomputed unit-charge Coulomb result (else computed if q ≠ 0).
        """
        return self.predict_many([atoms], forces=forces, stress=stress, spread=spread,
                                 coulomb_units=None if coulomb_unit is None else [coulomb_unit])[0]

    def predict_many(self, frames: Sequence[Atoms], *, forces: bool = True, stress: bool = True,
                     spread: bool = True, coulomb_units: Sequence[CoulombResult] | None = None,
                     max_atoms: int = 4096) -> list[Prediction]:
        """:meth:`predict` for many structures, batched into graphs of ≤ ``max_atoms`` atoms."""
        out: list[Prediction] = []
        for group in batches([len(a) for a in frames], max_atoms):
            graph = self.graph([frames[k] for k in group])
            mean, std = self.short_range(graph, forces=forces, stress=stress, spread=spread)
            for k, p in zip(group, split_output(mean, graph.n_atoms, std)):
                unit = None if coulomb_units is None else coulomb_units[k]
                out.append(with_coulomb(p, frames[k], self, unit))
        return out

    # ---- files

    def save(self, path: str | os.PathLike, metadata: Mapping[str, Any] | None = None) -> None:
        """Write the model file (atomically): settings, elements, q, normalisation, weights."""
        payload = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "units": dict(UNITS),
            "elements": list(self.elements),
            "settings": self.settings.to_dict(),
            "charge": self.charge,
            "unit_charges": self.unit_charges,
            "coulomb_accuracy": self.coulomb_accuracy,
            "dtype": str(self.dtype).removeprefix("torch."),
            "members": [clone_state(m) for m in self.members],
            "metadata": dict(metadata or {}),
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NNPotential:
        """Read a file written by :meth:`save` (``torch.load(weights_only=True)``)."""
        payload = torch.load(path, weights_only=True, map_location="cpu")
        if payload.get("format") != FILE_FORMAT:
            raise ValueError(f"{path}: not an ionnp model file")
        if payload["version"] != FILE_VERSION:
            age = "newer" if payload["version"] > FILE_VERSION else "older"
            raise ValueError(f"{path}: model file version {payload['version']} is {age} than this "
                             f"ionnp's ({FILE_VERSION}); retrain it with this version")
        if payload.get("units") != UNITS:
            raise ValueError(f"{path}: units {payload.get('units')} are not ionnp's {UNITS}")
        settings = settings_from_dict(payload["settings"])
        dtype = getattr(torch, payload["dtype"])
        members = []
        for state in payload["members"]:
            member = ShortRangeModel(payload["elements"], settings).to(dtype)
            member.load_state_dict(state)
            members.append(member)
        model = cls(members, payload["charge"], payload["unit_charges"],
                    coulomb_accuracy=payload["coulomb_accuracy"])
        model.metadata = payload.get("metadata", {})
        return model


def with_coulomb(prediction: Prediction, atoms: Atoms, potential: Any,
                 unit: CoulombResult | None = None) -> Prediction:
    """A short-range prediction of ``atoms`` with the Coulomb term q² E_C(1) added (energy,
    forces, stress; its energy shared equally among the atoms' energies). ``potential`` has
    ``charge`` and ``coulomb_unit(atoms)`` (an :class:`NNPotential` or a deployed model);
    ``unit``: a precomputed E_C(1), else computed. Unchanged for q = 0."""
    if potential.charge == 0.0:
        return prediction
    c = (unit if unit is not None else potential.coulomb_unit(atoms)).scaled(potential.charge)
    p = prediction
    return replace(
        p, energy=p.energy + c.energy, energies=p.energies + c.energy / len(atoms),
        forces=None if p.forces is None else p.forces + c.forces,
        stress=None if p.stress is None else p.stress + c.stress,
        coulomb_energy=c.energy,
    )


def check_model_file(path: str | os.PathLike, chemistry: Chemistry) -> None:
    """Refuse a model file made for another chemistry than ``chemistry`` (elements or their
    unit charges).

    Raises:
        ValueError: naming the file, what it holds and the config's chemistry.
    """
    model = NNPotential.load(path)
    if tuple(model.elements) != chemistry.elements or model.unit_charges != chemistry.unit_charge:
        raise ValueError(f"{path} holds elements {model.elements} with unit charges "
                         f"{model.unit_charges}, but potential.charges gives {chemistry} (unit charges "
                         f"{chemistry.unit_charge})")


__all__ = ["NNPotential", "Prediction", "check_model_file", "with_coulomb"]
