"""The numpy reference Ewald sum itself reproduces textbook Madelung constants."""

import numpy as np
import pytest
from ase.build import bulk

from reference import ewald_energy


@pytest.mark.parametrize(
    "structure, a, madelung",
    [("rocksalt", 4.0, 1.747565), ("cesiumchloride", 3.0, 1.762675), ("zincblende", 5.0, 1.638055)],
)
def test_madelung_constants(structure, a, madelung):
    atoms = bulk("NaCl", structure, a=a)
    charges = np.array([1.0, -1.0])
    nn = min(atoms.get_distances(0, [1], mic=True))
    energy = ewald_energy(atoms.positions, atoms.cell.array, charges, coulomb_constant=1.0)
    assert -energy * nn == pytest.approx(madelung, abs=1e-6)
