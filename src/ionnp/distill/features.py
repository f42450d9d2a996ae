"""Structure features for distillation: what a structure looks like to the NNP.

A structure's feature vector is the per-species mean and standard deviation of the per-atom
symmetry functions the NNP itself uses (:mod:`ionnp.nnp.descriptors`: the model sees exactly
these environments, so distance in this space is distance for the model), plus the volume per
atom and the fraction of the first species (model order), so compression and composition count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from ase import Atoms

from ionnp.nnp.descriptors import DescriptorSettings, SymmetryFunctions, neighbor_list


def structure_features(frames: Iterable[Atoms], settings: DescriptorSettings,
                       elements: Sequence[str]) -> np.ndarray:
    """Feature matrix, shape (n_frames, 2·len(elements)·n_descriptors + 2)."""
    functions = SymmetryFunctions(settings, elements)
    rows = []
    with torch.no_grad():
        for atoms in frames:
            species = np.array([elements.index(s) for s in atoms.get_chemical_symbols()])
            neighbors = neighbor_list(atoms.positions, atoms.cell.array, settings.cutoff)
            per_atom = functions(torch.as_tensor(atoms.positions), torch.as_tensor(atoms.cell.array),
                                 torch.as_tensor(species), neighbors).numpy()
            stats = []
            for index in range(len(elements)):
                mine = per_atom[species == index]
                if len(mine):
                    stats += [mine.mean(axis=0), mine.std(axis=0)]
                else:
                    stats += [np.zeros(per_atom.shape[1])] * 2
            extra = [atoms.get_volume() / len(atoms), float(np.mean(species == 0))]
            rows.append(np.concatenate(stats + [np.array(extra)]))
    return np.array(rows)


__all__ = ["structure_features"]
