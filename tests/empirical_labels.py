"""Frames labelled by the empirical potential through LAMMPS, for tests that train on them."""

from __future__ import annotations

from ase import Atoms

from ionnp.lammps.empirical import evaluate
from ionnp.potential import RigidIonPotential


def buckingham_labelled(frames: list[Atoms], potential: RigidIonPotential) -> list[Atoms]:
    """Frames with the Buckingham-only labels of ionnp.sampling.labels.label_frame (LAMMPS)."""
    out = []
    for atoms in frames:
        labels = evaluate(atoms, potential, coulomb=False)
        atoms = atoms.copy()
        atoms.info.update(buck_energy=labels.energy, buck_stress=labels.stress)
        atoms.arrays["buck_energies"] = labels.energies
        atoms.arrays["buck_forces"] = labels.forces
        out.append(atoms)
    return out
