"""Empirical labels of a sampled frame, with precise Ewald settings: total energy, forces and
stress (Buckingham + Coulomb at the formal charges), the Buckingham part alone (total, per-atom
energies — half of each pair —, forces, stress) and the Coulomb part alone, so that
total = Buckingham + Coulomb is a check. Units: eV, eV/Å, eV/Å³ (ASE's sign, Voigt)."""

from __future__ import annotations

from dataclasses import replace

from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from ionnp.lammps.empirical import evaluate
from ionnp.potential import RigidIonPotential


def label_frame(atoms: Atoms, potential: RigidIonPotential) -> Atoms:
    """A copy of ``atoms`` with precise empirical labels (see the module docstring).

    Total labels go to a single-point calculator (energy, forces, stress); the parts to
    ``info`` (``buck_energy``, ``buck_stress``, ``coul_energy``) and ``arrays``
    (``buck_energies``, ``buck_forces``).
    """
    total = evaluate(atoms, potential)
    buck = evaluate(atoms, potential, coulomb=False)
    coul = evaluate(atoms, replace(potential, pairs={}))
    labelled = atoms.copy()
    labelled.info.update(buck_energy=buck.energy, buck_stress=buck.stress, coul_energy=coul.energy)
    labelled.arrays["buck_energies"] = buck.energies
    labelled.arrays["buck_forces"] = buck.forces
    labelled.calc = SinglePointCalculator(labelled, energy=total.energy, forces=total.forces,
                                          stress=total.stress)
    return labelled


__all__ = ["label_frame"]
