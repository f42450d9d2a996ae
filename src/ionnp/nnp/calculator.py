"""ASE calculator of an ionnp model file, a deployed file (``ionnp export``, run through
:class:`~ionnp.deploy.export.DeployedModel`) or an :class:`~ionnp.nnp.potential.NNPotential`.

    calc = IonnpCalculator("models/finetune_q0.8.pt")
    atoms.calc = calc
    atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    calc.results["energy_std"]        # ensemble spread (eV)

Properties: energy (= free_energy), forces, stress, energies (per atom; they sum to the
energy, the Coulomb energy being shared equally among the atoms), and in ``results`` also
``energy_std``, ``forces_std``, ``stress_std`` (population standard deviation across the
ensemble members), ``short_range_energy`` and ``coulomb_energy``. Units: eV, eV/Å, eV/Å³
(ASE sign, Voigt). Only 3D-periodic cells.
"""

from __future__ import annotations

import os
from typing import Any

from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ionnp.nnp.potential import NNPotential


class IonnpCalculator(Calculator):
    """ASE calculator of an NNP.

    Args:
        model: a model file (:meth:`NNPotential.save`), a deployed file or a potential.
        spread: compute the ensemble spread of forces and stress as well (one backward pass
            per member; the energy spread is always there). False is faster for MD.
        threads: torch threads during calculations (None leaves torch's setting alone).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(self, model: str | os.PathLike | NNPotential, *, spread: bool = True,
                 threads: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(model, NNPotential):
            self.potential = model
        else:
            from ionnp.deploy.export import DeployedModel, is_deployed

            self.potential = DeployedModel(model) if is_deployed(model) else NNPotential.load(model)
        self.potential.eval()
        self.spread = spread
        self.threads = threads

    def calculate(self, atoms: Atoms | None = None, properties: list[str] | None = None,
                  system_changes: list[str] = all_changes) -> None:
        super().calculate(atoms, properties or ["energy"], system_changes)
        import torch

        previous = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            p = self.potential.predict(self.atoms, spread=self.spread)
        finally:
            if self.threads is not None:
                torch.set_num_threads(previous)
        self.results = {
            "energy": p.energy,
            "free_energy": p.energy,
            "energies": p.energies,
            "forces": p.forces,
            "stress": p.stress,
            "energy_std": p.energy_std,
            "short_range_energy": p.short_range_energy,
            "coulomb_energy": p.coulomb_energy,
        }
        if p.forces_std is not None:
            self.results["forces_std"] = p.forces_std
        if p.stress_std is not None:
            self.results["stress_std"] = p.stress_std
